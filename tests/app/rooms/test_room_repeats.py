"""Repeated runs in a room, over real WebSockets: viewers (live, late, after a presenter's
reload) get every point of every repeat exactly once, in order within its repeat."""

from __future__ import annotations

from test_presenter_away import Watch
from test_rooms import Viewer, create_room, present
from test_train_socket import Client, points_by_run

CONFIG = {"n_samples": 30, "epochs": 3, "repeats": 3,
          "runs": [{"name": "SGD", "batch_size": 1}, {"name": "Full batch", "batch_size": None}]}


def check_every_repeat_once(points: dict[str, list[dict]], done: dict) -> None:
    """Each run's repeats hold iterations 1 … its count in `done`, none twice, none missing."""
    for name, info in done["runs"].items():
        assert len(info["repeats"]) == 3
        for r, outcome in enumerate(info["repeats"]):
            its = [p["iteration"] for p in points[name] if p["repeat"] == r]
            assert its == list(range(1, outcome["iterations"] + 1)), (name, r)


def test_live_and_late_viewers_get_every_repeat_once(live_server):
    room = create_room(live_server)
    teacher = Client(live_server)
    present(teacher, room)
    live = Viewer(live_server, room["code"])
    live.until("room")
    teacher.send({"type": "start", "config": {**CONFIG, "speed": 150}})
    seen_by_teacher = []
    while sum(m["type"] == "frame" for m in seen_by_teacher) < 4:
        seen_by_teacher.append(teacher.recv())
    late = Viewer(live_server, room["code"])
    t_done, t_rest = teacher.until("done")
    teacher_points = points_by_run(seen_by_teacher + t_rest)
    check_every_repeat_once(teacher_points, t_done)
    for viewer in (live, late):
        v_done, v_seen = viewer.until("done")
        assert v_done["runs"] == t_done["runs"]
        assert points_by_run(v_seen) == teacher_points
        viewer.close()
    teacher.close()


def test_a_presenter_reload_resumes_every_repeat_for_viewers(live_server):
    room = create_room(live_server)
    watch = Watch(live_server, room["code"])
    first = Client(live_server)
    present(first, room)
    first.send({"type": "start", "config": {**CONFIG, "speed": 60}})  # SGD: 90 its, ~1.5 s
    watch.frames(3)
    first.close()
    watch.take("presenter", "away")
    second = Client(live_server)
    assert present(second, room)["resumed"] is True
    t_done, t_seen = second.until("done")
    v_done = watch.take("done")
    assert v_done["runs"] == t_done["runs"]
    check_every_repeat_once(points_by_run(watch.seen), v_done)
    check_every_repeat_once(points_by_run(t_seen), t_done)
    second.close()
    watch.close()
