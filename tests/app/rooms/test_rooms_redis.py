"""Rooms across two server processes over a real Redis: teacher on A, viewers on B."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sys
import time
import urllib.request

import pytest
import redis
from conftest import ARTIFACTS, REPO, free_port, start_live_server, start_redis
from test_presenter_away import (
    check_a_code_with_no_room_is_404,
    check_a_presenter_who_does_not_return_has_left,
    check_reload_resumes,
)
from test_rooms import (
    Viewer,
    assert_room_cap_holds,
    assert_viewer_cap_holds,
    at_once,
    create_room,
    join_viewer,
    present,
    presented_count,
)
from test_train_socket import Client, points_by_run
from websockets.exceptions import ConnectionClosed

from app.rooms.hub import RoomError
from app.rooms.redis_hub import RedisRoomHub
from app.rooms.redis_store import room_keys as _keys
from app.rooms.room import Viewer as RoomViewer


@pytest.fixture
def redis_url():
    """A real redis-server on a loopback port; stopped after the test."""
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is missing: install Debian's redis-server (.ci/run does)")
    port = free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / f"redis-{port}.log", "wb")
    proc = start_redis(port, log)
    yield f"redis://127.0.0.1:{port}/0", proc
    if proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=10)
    log.close()


@pytest.fixture
def two_servers(redis_url):
    url, proc = redis_url
    env = {"REDIS_URL": url}
    with start_live_server(env=env, name="worker-a") as a, start_live_server(env=env,
                                                                            name="worker-b") as b:
        yield a, b, proc


def test_viewer_on_b_watches_teacher_on_a_every_point_in_order(two_servers):
    a, b, _ = two_servers
    room = create_room(a)
    early = Viewer(b, room["code"])
    assert early.recv()["type"] == "room"
    teacher = Client(a)
    presenting = present(teacher, room)
    assert presenting["room"] == room["code"]
    teacher.send({"type": "start", "config": {"speed": 300, "epochs": 4}})
    frames = 0
    t_seen = []
    while frames < 4:
        msg = teacher.recv()
        t_seen.append(msg)
        frames += msg["type"] == "frame"
    late = Viewer(b, room["code"])  # joins mid-run on the other worker
    t_done, rest = teacher.until("done")
    t_seen += rest
    expected = points_by_run(t_seen)
    for viewer in (early, late):
        v_done, v_seen = viewer.until("done")
        assert v_done["runs"] == t_done["runs"]
        got = points_by_run(v_seen)
        assert got == expected  # every point exactly once, in order
    teacher.close()
    early.close()
    late.close()


def test_a_presenter_reload_resumes_the_race_for_viewers_on_the_other_worker(two_servers):
    a, b, _ = two_servers
    check_reload_resumes(a, b)


def test_viewers_on_the_other_worker_hear_the_presenter_has_left(two_servers):
    a, b, _ = two_servers
    check_a_presenter_who_does_not_return_has_left(a, b)


def test_a_code_with_no_room_is_404_on_every_worker(two_servers):
    a, b, _ = two_servers
    check_a_code_with_no_room_is_404(b)
    room = create_room(a)
    assert urllib.request.urlopen(f"{b}/room/{room['code']}", timeout=10).status == 200


def test_teacher_sees_viewers_on_the_other_worker(two_servers):
    a, b, _ = two_servers
    room = create_room(a)
    teacher = Client(a)
    present(teacher, room)
    viewers = [Viewer(b, room["code"]) for _ in range(3)]
    deadline = time.monotonic() + 20
    count = 0
    while count < 3 and time.monotonic() < deadline:
        msg = teacher.recv(timeout=deadline - time.monotonic())
        if msg["type"] == "presenting":
            count = msg["viewers"]
    assert count == 3
    teacher.send({"type": "present", "room": room["code"], "token": "wrong" * 8})
    err, _ = teacher.until("error")
    assert err["code"] == "bad_token"
    teacher.close()
    for v in viewers:
        v.close()


def test_redis_going_away_closes_viewers_with_a_reason_and_the_teacher_runs_on(two_servers):
    a, b, redis_proc = two_servers
    room = create_room(a)
    viewer = Viewer(b, room["code"])
    viewer.recv()
    teacher = Client(a)
    present(teacher, room)
    teacher.send({"type": "start", "config": {"speed": 100, "epochs": 3}})
    viewer.until("frame")
    redis_proc.kill()
    redis_proc.wait(timeout=10)
    with pytest.raises(ConnectionClosed) as info:
        while True:
            viewer.recv(timeout=30)
    assert "Redis" in info.value.rcvd.reason
    done, _ = teacher.until("done", timeout=120)
    assert {r["status"] for r in done["runs"].values()} == {"completed"}
    teacher.close()


def test_the_presenter_is_told_when_redis_goes_away_and_can_present_again(redis_url):
    """Viewers got `room_closed`, but the teacher's count froze and its room answered 4404
    for good: now the teacher gets `room_lost`, trains on, and presents a new room once
    Redis is back."""
    url, redis_proc = redis_url
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with _workers(url) as (a, b):
        room = create_room(a)
        teacher = Client(a)
        present(teacher, room)
        viewer = Viewer(b, room["code"])
        viewer.recv()
        teacher.until("presenting")  # 1 watching
        redis_proc.kill()
        redis_proc.wait(timeout=10)
        lost, _ = teacher.until("room_lost", timeout=30)
        assert lost["room"] == room["code"] and lost["code"] == "rooms_unavailable"
        assert "Redis" in lost["reason"]
        with pytest.raises(ConnectionClosed):
            while True:
                viewer.recv(timeout=30)
        teacher.send({"type": "start", "config": {"speed": 0, "epochs": 2}})
        done, seen = teacher.until("done")
        assert {r["status"] for r in done["runs"].values()} == {"completed"}
        assert not any(m["type"] in ("presenting", "room_lost") for m in seen)
        with open(ARTIFACTS / f"redis-{port}-again.log", "wb") as log:
            again = start_redis(port, log)
        try:
            new = create_room(a)
            assert present(teacher, new)["room"] == new["code"]
            watcher = Viewer(b, new["code"])
            assert watcher.recv()["type"] == "room"
            assert presented_count(teacher, 1) == 1
            teacher.send({"type": "start", "config": {"speed": 0, "epochs": 1}})
            t_done, t_seen = teacher.until("done")
            v_seen: list[dict] = []  # the earlier run first (presenting sends the run so far)
            while not (v_seen and v_seen[-1]["type"] == "done"
                       and v_seen[-1]["generation"] == t_done["generation"]):
                v_seen.append(watcher.recv())
            assert v_seen[-1] == t_done
            run = [m for m in v_seen if m.get("generation") == t_done["generation"]]
            assert points_by_run(run) == points_by_run(t_seen)
            watcher.close()
        finally:
            again.terminate()
            again.wait(timeout=10)
        teacher.close()


def test_what_a_presenter_published_reaches_redis_after_everyone_here_left(redis_url):
    """The presenter's worker serves its own viewers at once but publishes to Redis a round trip
    or two behind. When the presenter and this worker's viewers leave on `done`, the mirror is
    dropped: what is still queued must be published all the same, or the viewers on the other
    workers never see the end (found by benchmarks/load.py: 130 of 300 viewers stuck)."""
    url, _ = redis_url
    count = 40

    async def scenario() -> None:
        hub = RedisRoomHub(url, max_rooms=5, max_viewers=10, idle_seconds=60)
        try:
            code, token = await hub.create()
            room = await hub.present(code, token)
            for i in range(count):  # queued in one go: the publisher has sent none of them yet
                message = {"type": "done", "generation": 1, "runs": {}, "i": i}
                room.publish(message, json.dumps(message))
            hub.unpresent(room)  # the presenter leaves; no viewers here: the mirror is dropped
            assert code not in hub.rooms
            for _ in range(200):
                if not hub.draining:
                    break
                await asyncio.sleep(0.05)
        finally:
            await hub.close()
        history = redis.Redis.from_url(url, decode_responses=True).lrange(
            _keys(code)["history"], 0, -1)
        assert [json.loads(e.split("|", 2)[2])["i"] for e in history] == list(range(count))

    asyncio.run(scenario())


def _publish_all(room, generation: int, count: int, first: str | None = None) -> None:
    kinds = ([first] if first else []) + ["done"] * count
    for i, kind in enumerate(kinds):
        message = {"type": kind, "generation": generation, "runs": {}, "i": i}
        room.publish(message, json.dumps(message))


def _history(url: str, code: str) -> list[dict]:
    entries = redis.Redis.from_url(url, decode_responses=True).lrange(
        _keys(code)["history"], 0, -1)
    return [json.loads(e.split("|", 2)[2]) for e in entries]


async def _drained(hub: RedisRoomHub) -> None:
    for _ in range(200):
        if not hub.draining and all(q.empty() for q in hub.outboxes.values()):
            return
        await asyncio.sleep(0.05)


def test_presenting_again_while_the_old_queue_drains_keeps_the_order(redis_url):
    """The new run's messages go out after the old run's: no stale point after `started`."""
    url, _ = redis_url

    async def scenario() -> str:
        hub = RedisRoomHub(url, max_rooms=5, max_viewers=10, idle_seconds=60)
        try:
            code, token = await hub.create()
            room = await hub.present(code, token)
            _publish_all(room, generation=1, count=40)
            hub.unpresent(room)  # dropped here with 40 messages still queued
            room = await hub.present(code, token)  # the page reconnects at once
            _publish_all(room, generation=2, count=5, first="started")
            await _drained(hub)
            await asyncio.sleep(0.3)
            return code
        finally:
            await hub.close()

    code = asyncio.run(scenario())
    history = _history(url, code)
    assert [m["generation"] for m in history] == [2] * 6, history[:3]
    assert history[0]["type"] == "started"


def test_a_room_ended_while_its_queue_drains_stays_ended(redis_url):
    """end() stops the drain: its next publish must not write the room back into Redis."""
    url, _ = redis_url

    async def scenario() -> tuple[str, RedisRoomHub]:
        hub = RedisRoomHub(url, max_rooms=5, max_viewers=10, idle_seconds=60)
        try:
            code, token = await hub.create()
            room = await hub.present(code, token)
            _publish_all(room, generation=1, count=40)
            hub.unpresent(room)
            await hub.end(code)
            await asyncio.sleep(0.5)
            return code
        finally:
            await hub.close()

    code = asyncio.run(scenario())
    client = redis.Redis.from_url(url, decode_responses=True)
    assert client.zscore("dp:rooms", code) is None  # it would count against DESCENT_MAX_ROOMS
    assert not client.exists(_keys(code)["room"])



# -- counts and caps that hold across workers (issue 10, points 1 and 5) -----------------------

def test_a_class_joining_at_once_on_b_gives_the_teacher_on_a_the_exact_count(two_servers):
    """Each viewer on B used to write B's whole count (HSET len(viewers)) from whichever pooled
    connection it got: a count read earlier could land last, and the teacher kept it."""
    a, b, _ = two_servers
    room = create_room(a)
    teacher = Client(a)
    present(teacher, room)
    viewers = at_once(30, lambda i: join_viewer(b, room["code"]))
    assert all(isinstance(v, Viewer) for v in viewers), viewers
    assert presented_count(teacher, 30) == 30
    at_once(30, lambda i: viewers[i].close())
    assert presented_count(teacher, 0) == 0
    teacher.close()


@contextlib.contextmanager
def _workers(url: str, **env: str):
    env = {"REDIS_URL": url, **env}
    with start_live_server(env=env, name="worker-a") as a, start_live_server(env=env,
                                                                            name="worker-b") as b:
        yield a, b


def test_the_room_cap_holds_across_workers(redis_url):
    with _workers(redis_url[0], DESCENT_MAX_ROOMS="5") as (a, b):
        assert_room_cap_holds([a, b])


def test_the_viewer_cap_holds_across_workers(redis_url):
    with _workers(redis_url[0], DESCENT_MAX_VIEWERS_PER_ROOM="10") as (a, b):
        assert_viewer_cap_holds([a, b])


# A worker with three viewers of a room, and a lease of 1 s; it says "joined", then waits.
WORKER_WITH_THREE_VIEWERS = """
import asyncio, sys
from app.rooms.room import Viewer
from app.rooms.redis_hub import RedisRoomHub

async def main():
    hub = RedisRoomHub(sys.argv[1], max_rooms=5, max_viewers=3, idle_seconds=60)
    hub.lease = 1.0
    for _ in range(3):
        await hub.join(sys.argv[2], Viewer())
    print("joined", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


async def _join_when_there_is_room(hub: RedisRoomHub, code: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            await hub.join(code, RoomViewer())
            return
        except RoomError as exc:
            assert exc.code == "room_full"
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


def test_the_viewers_of_a_worker_that_died_stop_counting(redis_url):
    """A worker killed with its viewers never takes them off the room's count: once its lease
    runs out they no longer count against DESCENT_MAX_VIEWERS_PER_ROOM (nor for the teacher)."""
    url, _ = redis_url

    async def scenario() -> None:
        hub = RedisRoomHub(url, max_rooms=5, max_viewers=3, idle_seconds=60)
        proc = None
        try:
            code, _ = await hub.create()
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c", WORKER_WITH_THREE_VIEWERS, url, code, cwd=REPO,
                stdout=asyncio.subprocess.PIPE)
            assert await asyncio.wait_for(proc.stdout.readline(), 60) == b"joined\n"
            with pytest.raises(RoomError) as full:
                await hub.join(code, RoomViewer())
            assert full.value.code == "room_full"
            proc.kill()
            await proc.wait()
            for _ in range(3):  # room for three again once the dead worker's lease ran out
                await _join_when_there_is_room(hub, code)
            with pytest.raises(RoomError) as full:
                await hub.join(code, RoomViewer())
            assert full.value.code == "room_full"
        finally:
            if proc is not None and proc.returncode is None:
                proc.kill()
                await proc.wait()
            await hub.close()

    asyncio.run(scenario())


def test_a_worker_that_closes_takes_its_viewers_off_the_count(redis_url):
    url, _ = redis_url

    async def scenario() -> None:
        a = RedisRoomHub(url, max_rooms=5, max_viewers=3, idle_seconds=60)
        b = RedisRoomHub(url, max_rooms=5, max_viewers=3, idle_seconds=60)
        try:
            code, _ = await a.create()
            for _ in range(3):
                await b.join(code, RoomViewer())
            with pytest.raises(RoomError):
                await a.join(code, RoomViewer())
            await b.close()
            for _ in range(3):
                await a.join(code, RoomViewer())  # at once: no lease to wait for
        finally:
            await a.close()

    asyncio.run(scenario())
