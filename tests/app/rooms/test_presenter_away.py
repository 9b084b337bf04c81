"""A room's presenter goes away (a reload, a closed tab) and a viewer opens a code with no room,
over real WebSockets. The checks are shared with the Redis tests (test_rooms_redis.py)."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request

from test_rooms import Viewer, create_room, present
from test_train_socket import Client, points_by_run

RUN = {"speed": 150, "epochs": 4}  # SGD: 400 iterations, ~3 s: still going after a reload
LEFT_WITHIN = 10.0  # seconds: the bound for "the presenter has left" (grace: 5 s)


class Watch:
    """A viewer that keeps everything it received, in order."""

    def __init__(self, base: str, code: str) -> None:
        self.viewer = Viewer(base, code)
        self.seen: list[dict] = []

    def take(self, kind: str, status: str | None = None, timeout: float = 60.0) -> dict:
        """Receive until a `kind` message (with this presenter `status`); keep all of them."""
        deadline = time.monotonic() + timeout
        while True:
            msg = self.viewer.recv(timeout=max(0.1, deadline - time.monotonic()))
            self.seen.append(msg)
            if msg["type"] == kind and (status is None or msg.get("status") == status):
                return msg

    def frames(self, count: int) -> None:
        while sum(m["type"] == "frame" for m in self.seen) < count:
            self.take("frame")

    def close(self) -> None:
        self.viewer.close()


def page_options(base: str, code: str) -> tuple[int, dict]:
    """The room page's status and the options it was written with."""
    try:
        with urllib.request.urlopen(f"{base}/room/{code}", timeout=10) as r:
            status, html = r.status, r.read().decode()
    except urllib.error.HTTPError as err:
        status, html = err.code, err.read().decode()
    found = re.search(r'<script type="application/json" id="page-options">(.*?)</script>', html)
    return status, json.loads(found.group(1))


def check_reload_resumes(teacher_base: str, viewer_base: str) -> None:
    """The teacher's page reloads mid-run: the viewer hears "away", never a new `started`, then
    "live", and goes on to the end with every point exactly once; the new page resumes the race
    (the run so far, then the rest)."""
    room = create_room(teacher_base)
    watch = Watch(viewer_base, room["code"])
    assert watch.take("room")["presenter"] == "waiting"
    first = Client(teacher_base)
    present(first, room)
    watch.take("presenter", "live")
    first.send({"type": "start", "config": RUN})
    started, _ = first.until("started")
    watch.frames(3)
    first.close()  # the reload: the old page's socket goes away ...
    watch.take("presenter", "away")
    second = Client(teacher_base)  # ... and the new page presents again before any start
    resumed = present(second, room)
    assert resumed["resumed"] is True
    again, _ = second.until("started")
    assert again["generation"] == started["generation"]
    watch.take("presenter", "live")
    t_done, t_seen = second.until("done")
    v_done = watch.take("done")
    assert v_done["runs"] == t_done["runs"]
    assert [m["type"] for m in watch.seen].count("started") == 1  # never reset to "ready 0/…"
    viewer_points, teacher_points = points_by_run(watch.seen), points_by_run(t_seen)
    for name, info in t_done["runs"].items():
        iterations = list(range(1, info["iterations"] + 1))
        assert [p["iteration"] for p in viewer_points[name]] == iterations, name
        assert [p["iteration"] for p in teacher_points[name]] == iterations, name
    assert viewer_points == teacher_points
    assert t_done["runs"]["SGD"]["iterations"] == 400
    second.close()
    watch.close()


def check_a_presenter_who_does_not_return_has_left(teacher_base: str, viewer_base: str) -> None:
    """The teacher's tab closes: the viewer hears "away", then "left" within ~10 s; the room
    stays open (a late joiner gets the run so far and hears "left"), and a return says "live"."""
    room = create_room(teacher_base)
    watch = Watch(viewer_base, room["code"])
    teacher = Client(teacher_base)
    present(teacher, room)
    teacher.send({"type": "start", "config": {"speed": 0, "epochs": 1, "n_samples": 20}})
    teacher.until("done")
    watch.take("done")
    teacher.close()
    gone = time.monotonic()
    watch.take("presenter", "away")
    watch.take("presenter", "left", timeout=LEFT_WITHIN)
    assert time.monotonic() - gone < LEFT_WITHIN
    late = Watch(viewer_base, room["code"])
    welcome = late.take("room")
    assert welcome["presenter"] == "left" and welcome["live"] is False
    late.take("done")  # the room kept the run so far
    assert page_options(viewer_base, room["code"]) == (200, {
        "notices": [], "autoplay": False, "room": room["code"], "room_missing": False})
    back = Client(teacher_base)
    present(back, room)
    watch.take("presenter", "live")
    late.take("presenter", "live")
    back.close()
    watch.close()
    late.close()


def check_a_code_with_no_room_is_404(base: str) -> None:
    status, options = page_options(base, "zzzzz")
    assert status == 404
    assert options["room"] == "ZZZZZ" and options["room_missing"] is True


def test_a_presenter_reload_resumes_the_race_for_viewers(live_server):
    check_reload_resumes(live_server, live_server)


def test_a_presenter_who_does_not_return_is_said_to_have_left(live_server):
    check_a_presenter_who_does_not_return_has_left(live_server, live_server)


def test_a_code_with_no_room_gets_a_404_page_that_says_so(live_server):
    check_a_code_with_no_room_is_404(live_server)
    room = create_room(live_server)
    assert page_options(live_server, room["code"].lower())[0] == 200
