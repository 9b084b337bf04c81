"""A room idle for longer than DESCENT_ROOM_IDLE_SECONDS with no presenter ends by itself: its
viewers get `room_closed`, its code is unknown from then on. Real servers, a real Redis.

Nothing here calls the hub's expire(): the servers' own periodic check must do it (a room is
also checked when someone creates, presents or joins, which would hide a missing check).
"""

from __future__ import annotations

import pytest
from conftest import start_live_server
from test_rooms import Viewer, create_room, present
from test_rooms_redis import redis_url  # noqa: F401  (a fixture)
from test_train_socket import Client
from websockets.exceptions import ConnectionClosed

IDLE = "2"  # seconds; the servers check at least twice per idle time
WAIT = 15.0  # generous: expiry takes ~3 s here (the old fixed 30-s check took up to 30 s)


def assert_closed_as_idle(viewer: Viewer) -> None:
    closed, _ = viewer.until("room_closed", timeout=WAIT)
    assert "idle" in closed["reason"], closed
    with pytest.raises(ConnectionClosed) as info:
        viewer.recv(timeout=WAIT)
    assert info.value.rcvd.code == 4000


def assert_unknown(base: str, code: str) -> None:
    late = Viewer(base, code)
    with pytest.raises(ConnectionClosed) as info:
        late.recv(timeout=WAIT)
    assert info.value.rcvd.code == 4404, info.value.rcvd
    assert "no room" in info.value.rcvd.reason


def test_an_idle_room_ends_but_not_while_it_is_presented():
    with start_live_server(env={"DESCENT_ROOM_IDLE_SECONDS": IDLE}, name="short-idle") as base:
        presented = create_room(base)
        teacher = Client(base)
        present(teacher, presented)  # presents, then does nothing at all
        watching = Viewer(base, presented["code"])
        assert watching.recv()["type"] == "room"
        idle = create_room(base)  # created after the presented one: idle for less time
        viewer = Viewer(base, idle["code"])
        assert viewer.recv()["type"] == "room"

        assert_closed_as_idle(viewer)
        assert_unknown(base, idle["code"])
        # The presented room, idle for longer, was checked in the same pass and is still there.
        again = Viewer(base, presented["code"])
        assert again.recv()["type"] == "room"
        again.close()

        teacher.close()  # no presenter any more: now the idle time counts
        assert_closed_as_idle(watching)
        assert_unknown(base, presented["code"])
        late_teacher = Client(base)
        late_teacher.send({"type": "present", "room": presented["code"],
                           "token": presented["token"]})
        err, _ = late_teacher.until("error")
        assert err["code"] == "unknown_room"
        late_teacher.close()


@pytest.fixture
def two_idle_servers(redis_url):  # noqa: F811
    url, _ = redis_url
    env = {"REDIS_URL": url, "DESCENT_ROOM_IDLE_SECONDS": IDLE}
    with start_live_server(env=env, name="idle-a") as a, start_live_server(env=env,
                                                                          name="idle-b") as b:
        yield a, b


def test_an_idle_room_ends_on_every_worker_with_redis(two_idle_servers):
    """Made on A, watched on B and on A: both workers' viewers are told, whichever notices."""
    a, b = two_idle_servers
    room = create_room(a)
    on_b, on_a = Viewer(b, room["code"]), Viewer(a, room["code"])
    assert on_b.recv()["type"] == "room" and on_a.recv()["type"] == "room"
    assert_closed_as_idle(on_b)
    assert_closed_as_idle(on_a)
    assert_unknown(a, room["code"])
    assert_unknown(b, room["code"])


def test_a_presented_room_does_not_expire_with_redis(two_idle_servers):
    """The teacher on A presents and waits (explaining): the room lives on, on both workers."""
    a, b = two_idle_servers
    room = create_room(a)
    teacher = Client(a)
    present(teacher, room)
    on_b = Viewer(b, room["code"])
    assert on_b.recv()["type"] == "room"
    idle = create_room(a)  # a room nobody presents, made after: it ends first
    other = Viewer(b, idle["code"])
    assert other.recv()["type"] == "room"
    assert_closed_as_idle(other)
    for base in (a, b):
        again = Viewer(base, room["code"])
        assert again.recv()["type"] == "room"
        again.close()
    teacher.send({"type": "start", "config": {"speed": 0, "epochs": 1, "n_samples": 20}})
    done, _ = on_b.until("done", timeout=WAIT)
    assert done["runs"]["SGD"]["status"] == "completed"
    teacher.close()
    assert_closed_as_idle(on_b)
