"""A presenter's learning-rate map reaches the room, over real WebSockets: live viewers get its
progress and result, a late joiner the latest map in its run so far, until a `started` of
another config makes it stale (in process here; across two workers over a real Redis in
test_room_sweep_redis.py)."""

from __future__ import annotations

from test_rooms import Viewer, create_room, present
from test_train_socket import Client

from app.core.wire import encode
from app.rooms.room import MAX_SWEEP_BYTES

CONFIG = {"n_samples": 40, "epochs": 3, "speed": 0}
SWEEP = {"config": CONFIG, "lrs": [0.01, 0.1, 1.0], "batch_sizes": [1, None]}


def start(teacher: Client, config: dict) -> None:
    teacher.send({"type": "start", "config": config, "paused": True})
    teacher.until("state")


def sweep(teacher: Client, sweep_id: int) -> dict:
    teacher.send({"type": "sweep", "id": sweep_id, **SWEEP})
    return teacher.until("sweep_result")[0]


def first_map(viewer: Client) -> tuple[dict, list[dict]]:
    """The first `sweep_result` a viewer gets, and what came before it."""
    return viewer.until("sweep_result")


def check_map_in_room(teacher_base: str, viewer_bases: list[str], settle=None) -> None:
    """The shared scenario: `viewer_bases` gives each new viewer's server in turn; `settle`
    (teacher, room code, whether the room keeps a map) waits before each new viewer joins."""
    bases = iter(viewer_bases)
    settle = settle or (lambda *_: None)
    room = create_room(teacher_base)
    teacher = Client(teacher_base)
    present(teacher, room)
    live = Viewer(next(bases), room["code"])
    live.until("room")
    start(teacher, CONFIG)
    result = sweep(teacher, 1)
    seen_map, before = first_map(live)
    assert seen_map == result  # the same message, id and all
    assert [m for m in before if m["type"] == "sweep_progress"][0]["done"] == 0
    live.close()  # (over Redis: the next viewer's worker loads the room afresh)

    settle(teacher, room["code"], True)
    late = Viewer(next(bases), room["code"])  # the latest map comes in the run so far
    late_map, before = first_map(late)
    assert late_map == result and "started" in [m["type"] for m in before]
    late.close()

    start(teacher, {**CONFIG, "speed": 7})  # the same config at another speed: still its map
    settle(teacher, room["code"], True)
    again = Viewer(next(bases), room["code"])
    assert first_map(again)[0] == result
    again.close()

    start(teacher, {**CONFIG, "epochs": 2})  # another config: the kept map is stale
    settle(teacher, room["code"], False)
    fresh = Viewer(next(bases), room["code"])
    fresh.until("state")  # the run so far, queued before anything live
    teacher.send({"type": "sweep", "id": 2, **SWEEP})
    newer, before = first_map(fresh)
    assert newer["id"] == 2  # never the stale map 1
    assert [m["id"] for m in before if m["type"] == "sweep_progress"][0] == 2
    fresh.close()
    teacher.close()


def test_viewers_get_the_map_and_a_late_joiner_the_latest_one(live_server):
    check_map_in_room(live_server, [live_server] * 4)


def test_a_map_the_room_keeps_is_bounded():
    """The largest map (24 x 8 cells of the longest numbers and status) fits MAX_SWEEP_BYTES."""
    cell = {"loss": -1.2345678901234567e-300, "status": "target_reached",
            "iterations": 1_000_000_000}
    largest = {"type": "sweep_result", "id": 2**31 - 1,
               "lrs": [1.2345678901234567e-300] * 24, "batch_sizes": [100_000] * 8,
               "cells": [[cell] * 8 for _ in range(24)], "lr_limit": 1.2345678901234567e-300}
    assert len(encode(largest)) <= MAX_SWEEP_BYTES


def test_a_map_computed_before_presenting_reaches_the_room(live_server):
    """The presenter computes the map of its race's config, then presents: the room gets the
    race so far and that map; a map of another config stays out."""
    teacher = Client(live_server)
    start(teacher, CONFIG)
    result = sweep(teacher, 5)
    room = create_room(live_server)
    present(teacher, room)
    viewer = Viewer(live_server, room["code"])
    seen, before = first_map(viewer)
    assert seen == result and "started" in [m["type"] for m in before]
    viewer.close()

    other = create_room(live_server)
    teacher.send({"type": "sweep", "id": 6, **SWEEP, "config": {**CONFIG, "epochs": 2}})
    teacher.until("sweep_result")  # the map of another config than the race's
    present(teacher, other)
    late = Viewer(live_server, other["code"])
    late.until("state")  # the run so far, and no map after it:
    teacher.send({"type": "sweep", "id": 7, **SWEEP})
    assert first_map(late)[0]["id"] == 7
    late.close()
    teacher.close()
