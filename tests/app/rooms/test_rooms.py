"""Presenter rooms over real WebSockets: teacher, viewers, late joiners, slow viewers, tokens."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import pytest
from conftest import start_live_server
from test_train_socket import Client, points_by_run, strict_loads
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


def create_room(base: str) -> dict:
    req = urllib.request.Request(base + "/api/rooms", method="POST")
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 201
        return json.load(r)


class Viewer(Client):
    """A room's viewer: the same test client on `/ws/room/CODE`."""

    def __init__(self, base: str, code: str) -> None:
        super().__init__(base, f"/ws/room/{code}")


def present(teacher: Client, room: dict) -> dict:
    teacher.send({"type": "present", "room": room["code"], "token": room["token"]})
    msg, _ = teacher.until("presenting")
    return msg


def test_room_codes_are_short_and_tokens_long(live_server):
    room = create_room(live_server)
    assert len(room["code"]) == 5 and room["code"].isalnum()
    assert len(room["token"]) >= 32
    assert room["viewer_url"].endswith("/room/" + room["code"])
    assert room["token"] not in room["viewer_url"]


def test_viewers_watch_the_teacher_live_and_read_only(live_server):
    room = create_room(live_server)
    early = Viewer(live_server, room["code"])  # connects before the teacher starts: waits
    hello = early.recv()
    assert hello["type"] == "room" and hello["live"] is False
    teacher = Client(live_server)
    presenting = present(teacher, room)
    assert presenting["viewers"] == 1
    teacher.send({"type": "start", "config": {"speed": 0, "epochs": 3}})
    t_done, t_seen = teacher.until("done")
    v_done, v_seen = early.until("done")
    assert v_done["runs"] == t_done["runs"]
    assert points_by_run(v_seen) == points_by_run(t_seen)  # every point, once, in order
    assert [m["type"] for m in v_seen if m["type"] in ("started", "surface")] == [
        "started", "surface"]
    early.ws.send(json.dumps({"type": "start", "config": {}}))
    err, _ = early.until("error")
    assert err["code"] == "read_only"
    teacher.close()
    early.close()


def test_late_joiner_gets_the_run_so_far_exactly_once(live_server):
    room = create_room(live_server)
    teacher = Client(live_server)
    present(teacher, room)
    teacher.send({"type": "start", "config": {"speed": 200, "epochs": 5}})
    frames = 0
    seen_by_teacher = []
    while frames < 5:
        msg = teacher.recv()
        seen_by_teacher.append(msg)
        frames += msg["type"] == "frame"
    late = Viewer(live_server, room["code"])
    v_done, v_seen = late.until("done")
    t_done, t_rest = teacher.until("done")
    assert points_by_run(v_seen) == points_by_run(seen_by_teacher + t_rest)
    for name, pts in points_by_run(v_seen).items():
        its = [p["iteration"] for p in pts]
        assert its == list(range(1, len(its) + 1)), name
    teacher.close()
    late.close()


def test_a_late_joiner_sees_the_paths_on_the_plane_the_surface_was_refitted_to(live_server):
    room = create_room(live_server)
    teacher = Client(live_server)
    present(teacher, room)
    config = {"dataset": "moons", "hidden": [4], "n_samples": 40, "epochs": 2, "speed": 0}
    teacher.send({"type": "start", "config": config})
    _, t_seen = teacher.until("done")
    refitted = [m for m in t_seen if m["type"] == "surface"][-1]
    late = Viewer(live_server, room["code"])
    _, v_seen = late.until("done")
    kinds = [m["type"] for m in v_seen]
    # the refitted surface comes after the frames, so the page moves their points onto it
    last = len(kinds) - 1 - kinds[::-1].index("surface")
    assert last > max(k for k, kind in enumerate(kinds) if kind == "frame")
    assert v_seen[last]["paths"] == refitted["paths"]
    teacher.close()
    late.close()


def test_presenting_mid_run_sends_the_run_so_far(live_server):
    room = create_room(live_server)
    viewer = Viewer(live_server, room["code"])
    viewer.recv()
    teacher = Client(live_server)
    teacher.send({"type": "start", "config": {"speed": 100, "epochs": 3}})
    teacher.until("frame")
    present(teacher, room)
    v_done, v_seen = viewer.until("done")
    for name, pts in points_by_run(v_seen).items():
        assert [p["iteration"] for p in pts] == list(range(1, len(pts) + 1)), name
    teacher.close()
    viewer.close()


def test_a_wrong_token_gets_an_error_not_a_room(live_server):
    room = create_room(live_server)
    teacher = Client(live_server)
    teacher.send({"type": "present", "room": room["code"], "token": "x" * 32})
    err = teacher.recv()
    assert err["type"] == "error" and err["code"] == "bad_token"
    teacher.send({"type": "present", "room": "ZZZZZ", "token": room["token"]})
    err = teacher.recv()
    assert err["code"] == "unknown_room"
    teacher.close()


def test_unknown_room_closes_the_viewer_with_a_reason(live_server):
    v = Viewer(live_server, "NOPE9")
    with pytest.raises(ConnectionClosed) as info:
        v.recv()
    assert info.value.rcvd.code == 4404
    assert "no room" in info.value.rcvd.reason


# A room's run that sends a stalled viewer more than its sockets can buffer: an MLP's points
# carry their 337 parameters each (~20 MB of frames at full speed).
BIG_RUN = {"speed": 0, "dataset": "moons", "hidden": [16, 16], "n_samples": 200, "epochs": 15}


def stalled_viewer(base: str, code: str):
    """A viewer that never reads, with a 4 KiB receive buffer and no compression: what the
    server sends it beyond ~4 KiB, the server's own socket buffer and a message or two waits."""
    port = urlsplit(base).port
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    return connect(f"ws://127.0.0.1:{port}/ws/room/{code}", sock=sock, max_queue=1,
                   compression=None, max_size=2**26, close_timeout=1)


def teacher_run(base: str, room: dict, good: Viewer) -> dict:
    """A new teacher presents BIG_RUN to `room` while `good` reads in a thread: how long the run
    took the teacher, its longest wait for a frame, what it and the good viewer got."""
    got: dict = {}
    teacher = Client(base)
    present(teacher, room)

    def watch() -> None:
        sizes, seen = [], []
        while True:
            raw = good.ws.recv(timeout=120)
            sizes.append(len(raw.encode()))
            seen.append(msg := strict_loads(raw))
            if msg["type"] == "done":
                got.update(viewer_bytes=sum(sizes), largest=max(sizes), viewer_seen=seen)
                return

    reader = threading.Thread(target=watch)
    reader.start()
    teacher.send({"type": "start", "config": BIG_RUN})
    start = time.monotonic()
    frames, seen = [], []
    while True:
        raw = teacher.ws.recv(timeout=120)
        if raw.startswith('{"type":"frame"'):
            frames.append(time.monotonic())
        seen.append(raw)
        if raw.startswith('{"type":"done"'):
            break
    got["seconds"] = time.monotonic() - start
    got["max_gap"] = max(b - a for a, b in zip(frames, frames[1:], strict=False))
    got["teacher_seen"] = [strict_loads(raw) for raw in seen]
    reader.join(timeout=120)
    teacher.close()
    assert not reader.is_alive(), "the good viewer did not get the whole run"
    return got


def test_a_viewer_that_never_reads_does_not_slow_the_teacher(live_server):
    """The same run twice: with a reading viewer (the baseline), then with a stalled one too.
    The teacher's run takes about as long and its frames come as evenly; a room that waited
    for its slowest viewer would stall once the stalled viewer's buffers are full."""
    baseline_room = create_room(live_server)
    baseline_viewer = Viewer(live_server, baseline_room["code"])
    assert baseline_viewer.recv()["type"] == "room"
    baseline = teacher_run(live_server, baseline_room, baseline_viewer)

    room = create_room(live_server)
    with stalled_viewer(live_server, room["code"]):  # never reads a thing
        good = Viewer(live_server, room["code"])
        assert good.recv()["type"] == "room"
        measured = teacher_run(live_server, room, good)

    # The stalled viewer really was stalled: it was sent more than can wait in its buffers.
    with open("/proc/sys/net/ipv4/tcp_wmem") as f:
        server_buffer = int(f.read().split()[2])
    sent, largest = measured["viewer_bytes"], measured["largest"]
    assert sent > server_buffer + 3 * largest + 2**20, (sent, largest, server_buffer)
    # Every point reached the good viewer, once, in order, while the stalled one held on.
    assert points_by_run(measured["viewer_seen"]) == points_by_run(measured["teacher_seen"])
    assert measured["teacher_seen"][-1]["runs"]["SGD"]["iterations"] == 3000
    # Generous bounds on a busy 2-core machine; a room that waits for its viewers exceeds them.
    print(f"baseline {baseline['seconds']:.2f} s, max frame gap {baseline['max_gap']:.3f} s; "
          f"with a stalled viewer {measured['seconds']:.2f} s, {measured['max_gap']:.3f} s; "
          f"{sent / 1e6:.1f} MB sent, largest message {largest / 1e6:.1f} MB")
    assert measured["seconds"] < 3 * baseline["seconds"] + 5
    assert measured["max_gap"] < 4 * baseline["max_gap"] + 2
    good.close()
    baseline_viewer.close()


def test_end_presentation_closes_the_room_for_viewers(live_server):
    room = create_room(live_server)
    viewer = Viewer(live_server, room["code"])
    viewer.recv()
    teacher = Client(live_server)
    present(teacher, room)
    teacher.send({"type": "end_presentation"})
    ended, _ = teacher.until("presentation_ended")
    closed, _ = viewer.until("room_closed")
    assert "ended" in closed["reason"]
    with pytest.raises(ConnectionClosed):
        viewer.recv()
    teacher.close()


def test_a_presenter_is_told_when_another_page_ends_its_room(live_server):
    room = create_room(live_server)
    first, second = Client(live_server), Client(live_server)
    present(first, room)
    present(second, room)
    second.send({"type": "end_presentation"})
    second.until("presentation_ended")
    lost, _ = first.until("room_lost")
    assert lost == {"type": "room_lost", "room": room["code"], "code": "room_ended",
                    "reason": "the presenter ended the presentation"}
    first.send({"type": "end_presentation"})  # no longer presenting
    err, _ = first.until("error")
    assert err["code"] == "not_presenting"
    first.close()
    second.close()


def test_teacher_gets_the_room_back_after_a_reload(live_server):
    room = create_room(live_server)
    first = Client(live_server)
    present(first, room)
    first.close()
    viewer = Viewer(live_server, room["code"])
    viewer.recv()
    second = Client(live_server)
    again = present(second, room)
    assert again["room"] == room["code"]
    second.send({"type": "start", "config": {"speed": 0, "epochs": 1, "n_samples": 20}})
    viewer.until("done")
    second.close()
    viewer.close()


def test_many_viewers_all_receive_every_point(live_server):
    room = create_room(live_server)
    viewers = [Viewer(live_server, room["code"]) for _ in range(20)]
    for v in viewers:
        v.recv()
    teacher = Client(live_server)
    present(teacher, room)
    teacher.send({"type": "start", "config": {"speed": 0, "epochs": 2}})
    t_done, t_seen = teacher.until("done")
    expected = points_by_run(t_seen)
    results = [None] * len(viewers)

    def watch(i: int) -> None:
        _, seen = viewers[i].until("done")
        results[i] = points_by_run(seen)

    threads = [threading.Thread(target=watch, args=(i,)) for i in range(len(viewers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(r == expected for r in results)
    teacher.close()
    for v in viewers:
        v.close()


# -- caps that hold when a class arrives at once (also used over Redis) -------------------

def at_once(count: int, action):
    """Run `action(i)` in `count` threads released together; return the results in order."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            results[i] = action(i)
        except Exception as exc:  # noqa: BLE001 - the test looks at what came back
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def presented_count(teacher: Client, want: int, timeout: float = 20) -> int:
    """The teacher's viewer count once it reads `want` (or the last one seen at the deadline)."""
    deadline = time.monotonic() + timeout
    count = None
    while count != want and time.monotonic() < deadline:
        try:
            msg = teacher.recv(timeout=max(0.01, deadline - time.monotonic()))
        except TimeoutError:
            break
        if msg["type"] == "presenting":
            count = msg["viewers"]
    return count


def join_viewer(base: str, code: str):
    """A viewer that joined (its first message read), or the close frame that refused it."""
    viewer = Viewer(base, code)
    try:
        assert viewer.recv(timeout=30)["type"] == "room"
    except ConnectionClosed as exc:
        return exc.rcvd
    return viewer


def post_room(base: str):
    try:
        return 201, create_room(base)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def assert_room_cap_holds(bases: list[str]) -> None:
    """DESCENT_MAX_ROOMS=5, 40 rooms asked for at once over `bases`: exactly 5 made."""
    results = at_once(40, lambda i: post_room(bases[i % len(bases)]))
    made = [body for status, body in results if status == 201]
    refused = [body for status, body in results if status != 201]
    assert len(made) == 5, [s for s, _ in results]
    assert {status for status, _ in results} == {201, 429}
    assert all("(DESCENT_MAX_ROOMS)" in body["detail"] for body in refused)
    assert len({body["code"] for body in made}) == 5


def assert_viewer_cap_holds(bases: list[str]) -> None:
    """DESCENT_MAX_VIEWERS_PER_ROOM=10, 30 viewers at once over `bases`: exactly 10 get in."""
    room = create_room(bases[0])
    results = at_once(30, lambda i: join_viewer(bases[i % len(bases)], room["code"]))
    admitted = [v for v in results if isinstance(v, Viewer)]
    refused = [v for v in results if not isinstance(v, Viewer)]
    assert len(admitted) == 10, results
    assert all(c.code == 4429 and "(DESCENT_MAX_VIEWERS_PER_ROOM)" in c.reason for c in refused)
    teacher = Client(bases[-1])
    count = present(teacher, room)["viewers"]
    assert (count if count == 10 else presented_count(teacher, 10)) == 10
    for v in admitted:
        v.close()
    teacher.close()


def test_the_room_cap_holds_when_rooms_are_asked_for_at_once():
    with start_live_server(env={"DESCENT_MAX_ROOMS": "5"}, name="room-cap") as base:
        assert_room_cap_holds([base])


def test_the_viewer_cap_holds_when_a_class_joins_at_once():
    with start_live_server(env={"DESCENT_MAX_VIEWERS_PER_ROOM": "10"}, name="viewer-cap") as b:
        assert_viewer_cap_holds([b])
