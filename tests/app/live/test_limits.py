"""The caps that protect the machine are settings (DESCENT_*), and each refusal names its cap.

The socket and HTTP tests run the real app under uvicorn with small caps set through the
environment, so they also prove the variables reach the code that enforces them.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import httpx
import pytest
from conftest import start_live_server
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from app.core.schemas import TrainConfig
from app.core.settings import Settings
from app.live.race import Race

SMALL_CAPS = {
    "DESCENT_MAX_ITERATIONS_PER_RUN": "130",
    "DESCENT_MAX_MESSAGE_BYTES": "2048",
    "DESCENT_MAX_MESSAGES_PER_SECOND": "1",
    "DESCENT_MAX_MESSAGE_BURST": "4",
    "DESCENT_MAX_HEADLESS_ITERATIONS": "150",
    "DESCENT_MAX_HEADLESS_VALUES": "1500",
}


@pytest.fixture(scope="module")
def capped() -> Any:
    with start_live_server(env=SMALL_CAPS, name="capped") as base_url:
        yield base_url


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://") + "/ws/train"


def start(**config: Any) -> str:
    return json.dumps({"type": "start", "config": config})


def next_of(ws, kinds: tuple[str, ...], timeout: float = 60) -> dict[str, Any]:
    """The next message of one of `kinds` (others skipped)."""
    while True:
        message = json.loads(ws.recv(timeout=timeout))
        if message["type"] in kinds:
            return message


def test_the_defaults_serve_a_whole_class():
    """Issue 6's floor: the defaults must still allow what a real lesson asks for."""
    s = Settings()
    assert s.max_iterations_per_run >= 5000 * 1000  # 5,000 samples, batch 1, 1,000 epochs
    assert (s.max_sessions, s.max_sessions_per_client, s.max_viewers_per_room) >= (100, 100, 500)


def test_every_cap_is_read_from_its_variable():
    env = {"DESCENT_MAX_POINTS_PER_SESSION": "500", "DESCENT_MAX_HISTORY_MB": "2", **SMALL_CAPS}
    s = Settings.from_env(env)
    assert (s.max_iterations_per_run, s.max_points_per_session, s.max_history_mb) == (130, 500, 2)
    assert (s.max_message_bytes, s.max_messages_per_second, s.max_message_burst) == (2048, 1, 4)
    assert (s.max_headless_iterations, s.max_headless_values) == (150, 1500)
    rooms = Settings.from_env({"DESCENT_MAX_ROOM_HISTORY_MB": "3",
                               "DESCENT_MAX_VIEWER_BACKLOG_MB": "5"})
    assert (rooms.max_room_history_mb, rooms.max_viewer_backlog_mb) == (3, 5)


@pytest.mark.parametrize("variable, value", [
    ("DESCENT_MAX_ITERATIONS_PER_RUN", "0"),
    ("DESCENT_MAX_POINTS_PER_SESSION", "10"),
    ("DESCENT_MAX_HISTORY_MB", "lots"),
    ("DESCENT_MAX_ROOM_HISTORY_MB", "0"),
    ("DESCENT_MAX_VIEWER_BACKLOG_MB", "1.5"),
    ("DESCENT_MAX_MESSAGE_BYTES", "100"),
    ("DESCENT_MAX_MESSAGES_PER_SECOND", "0"),
    ("DESCENT_MAX_MESSAGE_BURST", "-3"),
    ("DESCENT_MAX_HEADLESS_ITERATIONS", "1e9"),
    ("DESCENT_MAX_HEADLESS_VALUES", "999"),
])
def test_a_bad_cap_stops_start_up_naming_its_variable(variable, value):
    with pytest.raises(ValueError, match=variable):
        Settings.from_env({variable: value})


def test_a_run_past_the_iteration_cap_is_refused_and_the_socket_stays_usable(capped):
    with connect(ws_url(capped)) as ws:
        # 70 samples at batch 1 for 2 epochs: 140 iterations, over the cap of 130.
        ws.send(start(n_samples=70, epochs=2, runs=[{"name": "SGD", "batch_size": 1}]))
        error = next_of(ws, ("error", "started"))
        assert error["type"] == "error", error
        assert (error["code"], error["field"], error["limit"]) == (
            "too_many_iterations", "config.epochs", 130)
        assert "'SGD' would take 140 iterations" in error["message"]
        assert "at most 130 per run (DESCENT_MAX_ITERATIONS_PER_RUN)" in error["message"]
        # One epoch is 70 iterations: within the cap, and it runs to the end.
        ws.send(start(n_samples=70, epochs=1, speed=0, runs=[{"name": "SGD", "batch_size": 1}]))
        assert next_of(ws, ("error", "started"))["type"] == "started"
        done = next_of(ws, ("error", "done"))
        assert done["type"] == "done", done


def test_the_iteration_caps_count_every_repeat(capped):
    sgd = [{"name": "SGD", "batch_size": 1}]
    with connect(ws_url(capped)) as ws:
        # 40 samples at batch 1 for 2 epochs: 80 iterations a repeat; 2 repeats are 160 > 130.
        ws.send(start(n_samples=40, epochs=2, repeats=2, runs=sgd))
        error = next_of(ws, ("error", "started"))
        assert (error["type"], error["code"], error["limit"]) == (
            "error", "too_many_iterations", 130), error
        assert "'SGD' would take 160 iterations (2 epochs x 40 per epoch x 2 repeats)" in (
            error["message"])
        assert "(DESCENT_MAX_ITERATIONS_PER_RUN): lower repeats" in error["message"]
        ws.send(start(n_samples=40, epochs=1, repeats=3, speed=0, runs=sgd))  # 120: allowed
        assert next_of(ws, ("error", "started"))["type"] == "started"
        assert next_of(ws, ("error", "done"))["type"] == "done"
    # Headless: 60 samples at batch 1 and 2 are 90 iterations, each run within its cap of 130
    # twice over; 2 repeats of both are 180 > 150.
    two = {"n_samples": 60, "epochs": 1,
           "runs": [{"name": "B1", "batch_size": 1}, {"name": "B2", "batch_size": 2}]}
    assert httpx.post(capped + "/api/runs", json=two, timeout=60).status_code == 200
    r = httpx.post(capped + "/api/runs", json={**two, "repeats": 2}, timeout=60)
    assert r.status_code == 422
    assert "180 iterations over all runs (2 repeats of each)" in r.json()["detail"]
    assert "at most 150 (DESCENT_MAX_HEADLESS_ITERATIONS)" in r.json()["detail"]
    r = httpx.post(capped + "/api/export/csv", json={"config": {**two, "repeats": 2}},
                   timeout=60)
    assert r.status_code == 422 and "DESCENT_MAX_HEADLESS_ITERATIONS" in r.json()["detail"]


def test_a_message_past_the_size_cap_is_refused_naming_it(capped):
    with connect(ws_url(capped)) as ws:
        ws.send(json.dumps({"type": "inspect", "run": "x" * 3000}))
        error = next_of(ws, ("error",))
        assert (error["code"], error["limit"]) == ("too_large", 2048)
        assert "larger than 2048 bytes (DESCENT_MAX_MESSAGE_BYTES)" in error["message"]
        ws.send(start(epochs=1, speed=0))
        assert next_of(ws, ("error", "started"))["type"] == "started"


def test_messages_past_the_rate_cap_are_refused_naming_it(capped):
    with connect(ws_url(capped)) as ws:
        for value in range(1, 13):  # at once: the burst of 4 passes, then 1 per second
            ws.send(json.dumps({"type": "speed", "value": value}))
        error = next_of(ws, ("error",))
        assert (error["code"], error["limit"]) == ("rate_limited", 1)
        assert "at most 1 per second (bursts of 4;" in error["message"]
        assert "DESCENT_MAX_MESSAGES_PER_SECOND" in error["message"]


def test_headless_work_past_its_cap_is_refused_naming_it(capped):
    # 100 samples x 1 epoch: SGD (batch 1) 100 + mini-batch 4 + full batch 1 = 105: allowed.
    small = {"n_samples": 100, "epochs": 1}
    r = httpx.post(capped + "/api/runs", json=small, timeout=60)
    assert r.status_code == 200, r.text
    # Two runs at batch 1: 200 iterations in all, each within the per-run cap.
    two = {**small, "runs": [{"name": "A", "batch_size": 1}, {"name": "B", "batch_size": 1}]}
    r = httpx.post(capped + "/api/runs", json=two, timeout=60)
    assert r.status_code == 422
    assert "at most 150 (DESCENT_MAX_HEADLESS_ITERATIONS)" in r.json()["detail"]
    assert "200 iterations" in r.json()["detail"]
    # The same cap guards exports.
    r = httpx.post(capped + "/api/export/csv", json={"config": two}, timeout=60)
    assert r.status_code == 422
    assert "DESCENT_MAX_HEADLESS_ITERATIONS" in r.json()["detail"]


def test_a_headless_response_past_its_size_cap_is_refused_naming_it(capped):
    # A [4] hidden layer has 17 parameters: 105 points x (17 + 8) numbers = 2,625 > 1,500.
    config = {"dataset": "moons", "hidden": [4], "n_samples": 100, "epochs": 1}
    r = httpx.post(capped + "/api/runs", json=config, timeout=60)
    assert r.status_code == 422
    assert "at most 1,500 (DESCENT_MAX_HEADLESS_VALUES)" in r.json()["detail"]


# -- the history a session keeps: both bounds, on the race itself ------------------------------
def run_to_end(race: Race) -> int:
    """Advance every run to its end; the number of points computed."""
    count = 0
    for run in race.runs.values():
        while race.advance(run) is not None:
            count += 1
    return count


def test_the_history_is_thinned_past_the_points_cap():
    config = TrainConfig.model_validate({"n_samples": 200, "epochs": 2,
                                         "runs": [{"name": "SGD", "batch_size": 1}]})
    race = Race(config, generation=1, limits=Settings(max_points_per_session=100))
    assert run_to_end(race) == 400
    kept = len(race.runs["SGD"].points)
    assert 50 <= kept <= 100
    assert race.history_message()["thinned"] is True
    iterations = [p["iteration"] for p in race.runs["SGD"].points]
    assert iterations == sorted(iterations) and iterations[-1] == 400  # the latest are kept


def test_the_history_is_thinned_past_the_bytes_cap():
    """A big model's points carry all their weights: the megabyte bound comes first."""
    config = TrainConfig.model_validate({"dataset": "moons", "hidden": [16, 16, 16, 16],
                                         "n_samples": 300, "epochs": 1,
                                         "runs": [{"name": "SGD", "batch_size": 1}]})
    race = Race(config, generation=1, limits=Settings(max_history_mb=1))
    per_point = 8 * race.model.n_params + 400
    assert run_to_end(race) == 300
    kept = len(race.runs["SGD"].points)
    assert kept * per_point <= 2**20 < 300 * per_point
    assert race.thinned


def test_the_default_history_keeps_a_short_lesson_whole():
    config = TrainConfig.model_validate({"n_samples": 200, "epochs": 5,
                                         "runs": [{"name": "SGD", "batch_size": 1}]})
    race = Race(config, generation=1)
    assert run_to_end(race) == 1000
    assert len(race.runs["SGD"].points) == 1000 and not race.thinned


def test_a_viewer_that_floods_the_room_socket_is_rate_limited_too(capped):
    """Each message a viewer sends is answered `read_only` in its queue: unlimited, a client
    that sends without reading would grow that queue without bound."""
    room = httpx.post(capped + "/api/rooms", timeout=30).json()
    url = capped.replace("http://", "ws://") + f"/ws/room/{room['code']}"
    with connect(url) as ws:
        assert json.loads(ws.recv(timeout=30))["type"] == "room"
        for _ in range(30):
            ws.send('{"type":"pause"}')
        answers = []
        with contextlib.suppress(TimeoutError):
            while True:
                answers.append(json.loads(ws.recv(timeout=1.5)))
        refused = [a for a in answers if a.get("code") == "read_only"]
        # A burst of 4 and 1 a second: a handful answered, not 30.
        assert 1 <= len(refused) <= 10, len(refused)
    with connect(url) as ws:  # past 500 refused in a row, the socket is closed with a reason
        ws.recv(timeout=30)
        with pytest.raises(ConnectionClosed) as closed:  # a send may meet the close already
            for _ in range(600):
                ws.send("{}")
            while True:
                ws.recv(timeout=30)
        assert closed.value.rcvd.code == 1008
        assert "too many messages (DESCENT_MAX_MESSAGES_PER_SECOND)" in closed.value.rcvd.reason
