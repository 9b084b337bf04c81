"""Repeated runs (`repeats`) over the real `/ws/train` socket: every point of every repeat once,
in order within its repeat, and `done` with each repeat's outcome and the final losses' spread."""

from __future__ import annotations

import statistics

import pytest
from test_train_socket import Client

from engine import iterations_per_epoch

RUNS = [{"name": "SGD", "batch_size": 1}, {"name": "Mini-batch", "batch_size": 8},
        {"name": "Full batch", "batch_size": None}]


@pytest.fixture
def client(live_server):
    c = Client(live_server)
    yield c
    c.close()


def run_to_done(client: Client, config: dict) -> tuple[dict, dict, dict[str, list[dict]]]:
    """(started, done, each run's points in the order they came) of a race run to its end."""
    client.send({"type": "start", "config": config})
    started, _ = client.until("started")
    done, seen = client.until("done")
    points: dict[str, list[dict]] = {}
    for msg in seen:
        if msg["type"] == "frame":
            for name, pts in msg["runs"].items():
                points.setdefault(name, []).extend(pts)
    return started, done, points


def by_repeat(points: list[dict]) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {}
    for p in points:
        out.setdefault(p["repeat"], []).append(p)
    return out


def test_every_point_of_every_repeat_once_and_done_gives_the_spread(client):
    config = {"n_samples": 24, "epochs": 2, "speed": 0, "seed": 5, "repeats": 4, "runs": RUNS}
    started, done, points = run_to_done(client, config)
    assert started["config"]["repeats"] == 4
    for run in started["runs"]:
        name, total = run["name"], iterations_per_epoch(24, run["batch_size"]) * 2
        assert run["total_iterations"] == total  # of one repeat, as before
        repeats = by_repeat(points[name])
        assert sorted(repeats) == [0, 1, 2, 3]
        for r, pts in repeats.items():  # none dropped, none twice, in order within its repeat
            assert [p["iteration"] for p in pts] == list(range(1, total + 1)), (name, r)
        outcome = done["runs"][name]
        assert [o["status"] for o in outcome["repeats"]] == ["completed"] * 4
        assert [o["iterations"] for o in outcome["repeats"]] == [total] * 4
        finals = [repeats[r][-1]["loss"] for r in range(4)]
        assert [o["loss"] for o in outcome["repeats"]] == finals
        assert outcome["loss"] == finals[0]  # the run's own fields: repeat 0, as without repeats
        assert outcome["loss_median"] == pytest.approx(statistics.median(finals), rel=1e-15)
        assert (outcome["loss_min"], outcome["loss_max"]) == (min(finals), max(finals))
    full = by_repeat(points["Full batch"])
    for r in range(1, 4):  # no randomness: every repeat is the same run
        assert [p["params"] for p in full[r]] == [p["params"] for p in full[0]]
    assert done["runs"]["Full batch"]["loss_min"] == done["runs"]["Full batch"]["loss_max"]
    for name in ("SGD", "Mini-batch"):  # another shuffle each: the paths part
        ends = {tuple(pts[-1]["params"]) for pts in by_repeat(points[name]).values()}
        assert len(ends) == 4, name
        assert done["runs"][name]["loss_min"] < done["runs"][name]["loss_max"]


def test_repeat_0_is_the_single_run_bit_for_bit_and_one_repeat_has_no_repeat_fields(client):
    config = {"n_samples": 20, "epochs": 2, "speed": 0, "seed": 9, "runs": RUNS}
    _, single_done, single = run_to_done(client, config)
    _, done, repeated = run_to_done(client, {**config, "repeats": 3})
    for name, pts in single.items():
        assert all("repeat" not in p for p in pts)
        assert set(single_done["runs"][name]) == {"status", "iterations", "epochs", "loss"}
        zero = [{k: v for k, v in p.items() if k != "repeat"} for p in repeated[name]
                if p["repeat"] == 0]
        assert zero == pts, name
        assert done["runs"][name]["loss"] == single_done["runs"][name]["loss"]


def test_a_step_advances_every_repeat_once(client):
    config = {"n_samples": 20, "epochs": 1, "repeats": 3, "runs": RUNS[:2]}
    client.send({"type": "start", "config": config, "paused": True})
    client.until("state")
    client.send({"type": "step"})
    frame, _ = client.until("frame")
    for name in ("SGD", "Mini-batch"):
        assert sorted((p["repeat"], p["iteration"]) for p in frame["runs"][name]) == [
            (0, 1), (1, 1), (2, 1)]


def test_repeats_out_of_range_are_refused_naming_the_field_and_range(client):
    for bad, code in ((0, "out_of_range"), (11, "out_of_range"), ("many", "bad_type"),
                      (True, "bad_type"), (2.5, "bad_type")):
        client.send({"type": "start", "config": {"repeats": bad}})
        error = client.recv()
        assert error["type"] == "error", error
        assert (error["field"], error["code"]) == ("config.repeats", code), error
        assert "an integer in [1, 10]" in error["message"]


def test_a_new_plane_moves_every_repeat_beside_repeat_0s_own_entry(client):
    config = {"dataset": "moons", "hidden": [4], "n_samples": 30, "epochs": 2, "speed": 0,
              "repeats": 3, "runs": RUNS[:2]}
    client.send({"type": "start", "config": config})
    client.until("started")
    done, seen = client.until("done")
    refits = [m for m in seen if m["type"] == "surface" and m.get("paths")]
    assert refits, "no refit"
    paths = refits[-1]["paths"]
    points: dict[str, list[dict]] = {}
    for msg in seen[:seen.index(refits[-1])]:
        if msg["type"] == "frame":
            for name, pts in msg["runs"].items():
                points.setdefault(name, []).extend(pts)
    for name, entry in paths.items():
        # repeat 0's entry as without repeats, the others listed beside it
        assert entry["iterations"] == [p["iteration"] for p in points[name] if p["repeat"] == 0]
        assert [o["repeat"] for o in entry["repeats"]] == [1, 2]
        for other in entry["repeats"]:
            mine = [p["iteration"] for p in points[name] if p["repeat"] == other["repeat"]]
            assert other["iterations"] == mine
            assert len(other["xy"]) == len(other["residual"]) == len(mine)
    assert set(done["runs"]["SGD"]) >= {"repeats", "loss_median", "median_repeat"}
