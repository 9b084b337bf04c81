"""A start may name the lesson step it shows (issue 15): its `started` carries `lesson`, so a
room's viewers, late joiners included, show the same step; an unknown lesson or step is refused."""

from __future__ import annotations

import pytest
from test_rooms import Viewer, create_room, present
from test_train_socket import Client

STEP = {"id": "how-a-network-learns", "step": 9}  # 1,000 samples, batch 100
CONFIG = {"n_samples": 1000, "epochs": 5, "runs": [{"name": "Batch 100", "batch_size": 100}]}


@pytest.fixture
def teacher(live_server):
    c = Client(live_server)
    yield c
    c.close()


def test_started_names_the_lesson_step_and_a_plain_start_names_none(teacher):
    teacher.send({"type": "start", "config": CONFIG, "paused": True, "lesson": STEP})
    started, _ = teacher.until("started")
    assert started["lesson"] == STEP
    teacher.send({"type": "start", "config": CONFIG, "paused": True})
    started, _ = teacher.until("started")
    assert "lesson" not in started


@pytest.mark.parametrize("lesson, field, code, words", [
    ({"id": "nope", "step": 1}, "lesson.id", "bad_value", "no lesson 'nope'"),
    ({"id": STEP["id"], "step": 12}, "lesson.step", "out_of_range", "[1, 11], got 12"),
    ({"id": STEP["id"], "step": 0}, "lesson.step", "out_of_range", "[1, 50]"),
    ({"id": STEP["id"]}, "lesson.step", "bad_type", "must be an integer in [1, 50]"),
])
def test_an_unknown_lesson_or_step_is_refused_naming_the_field(teacher, lesson, field, code,
                                                               words):
    teacher.send({"type": "start", "config": CONFIG, "paused": True, "lesson": lesson})
    error, _ = teacher.until("error")
    assert (error["field"], error["code"]) == (field, code) and words in error["message"]
    teacher.send({"type": "start", "config": CONFIG, "paused": True, "lesson": STEP})
    assert teacher.until("started")[0]["lesson"] == STEP  # the socket stays usable


def test_viewers_and_late_joiners_get_the_presenters_lesson_step(live_server, teacher):
    room = create_room(live_server)
    early = Viewer(live_server, room["code"])
    early.recv()
    present(teacher, room)
    teacher.send({"type": "start", "config": CONFIG, "paused": True, "lesson": STEP})
    assert early.until("started")[0]["lesson"] == STEP
    teacher.until("state")
    late = Viewer(live_server, room["code"])
    assert late.until("started")[0]["lesson"] == STEP
    nxt = {**STEP, "step": 10}
    teacher.send({"type": "start", "config": {"noise": 0.3, "patience": 3}, "paused": True,
                  "lesson": nxt})
    assert early.until("started")[0]["lesson"] == nxt
    assert late.until("started")[0]["lesson"] == nxt
    early.close()
    late.close()
