"""The learning-rate map: `POST /api/sweep` (bounds, caps, OpenAPI, the engine's numbers, theory)
and the same over real WebSockets (progress, result, cancelling, a socket that stays responsive)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from fastapi.testclient import TestClient
from test_train_socket import Client

import engine
from app.core.schemas import SweepRequest
from app.core.settings import Settings
from app.live.sweep import PROGRESS_EVERY, build, work
from app.main import create_app
from engine.sweep import Sweep

LRS = [0.001, 0.01, 0.1, 1.0, 10.0]
BATCHES = [1, 8, 32, None]


@pytest.fixture(scope="module")
def http():
    with TestClient(create_app(Settings())) as client:
        yield client


def test_the_map_is_the_engines_sweep_of_the_config(http):
    config = {"n_samples": 60, "epochs": 3, "seed": 5}
    r = http.post("/api/sweep", json={"config": config, "lrs": LRS, "batch_sizes": BATCHES})
    assert r.status_code == 200
    body = r.json()
    assert body["lrs"] == LRS and body["batch_sizes"] == BATCHES
    data = engine.make_dataset("linear", n_samples=60, seed=5)
    sweep = Sweep(data.X, data.y, engine.MLP([1, 1], seed=5), "mse", LRS, BATCHES, epochs=3,
                  seed=5)
    for row, expected in zip(body["cells"], sweep.run(), strict=True):
        assert row == [{"loss": c.loss, "status": c.status, "iterations": c.iterations}
                       for c in expected]
    assert body["cells"][0][0]["iterations"] == 180 and body["cells"][0][3]["iterations"] == 3
    assert body["cells"][4][0] == {"loss": None, "status": "diverged",
                                   "iterations": body["cells"][4][0]["iterations"]}
    assert body["lr_limit"] == pytest.approx(sweep.lr_limit, rel=1e-15)


def test_the_map_agrees_with_theory_at_the_edge(http):
    """w·x + b with MSE, full batch: converges at 0.9 x 2/λ_max, diverges at 1.1 x."""
    config = {"epochs": 200}
    limit = http.post("/api/sweep", json={"config": config, "lrs": [0.1],
                                          "batch_sizes": [None]}).json()["lr_limit"]
    data = engine.make_dataset("linear", n_samples=100, seed=0)
    x = data.X[:, 0]
    H = 2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]])
    assert limit == pytest.approx(2 / np.linalg.eigvalsh(H)[-1], rel=1e-12)
    body = http.post("/api/sweep", json={"config": config, "lrs": [0.9 * limit, 1.1 * limit],
                                         "batch_sizes": [None]}).json()
    below, above = body["cells"][0][0], body["cells"][1][0]
    assert below["status"] == "completed" and below["iterations"] == 200
    assert above["status"] == "diverged" and above["loss"] is None


def test_no_edge_where_theory_is_not_exact(http):
    for config in ({"dataset": "moons", "hidden": [3], "n_samples": 30, "epochs": 1},
                   {"loss": "mae", "epochs": 1},
                   {"epochs": 1, "runs": [{"name": "M", "batch_size": 8, "update": "momentum"}]}):
        body = http.post("/api/sweep", json={"config": config, "lrs": [0.1],
                                             "batch_sizes": [8]}).json()
        assert body["lr_limit"] is None, config
        assert body["cells"][0][0]["status"] == "completed"


@pytest.mark.parametrize("body, field, code, says", [
    ({"lrs": [], "batch_sizes": [1]}, "lrs", "out_of_range", "a list of 1 to 24 learning rates"),
    ({"lrs": [0.1 * k for k in range(1, 26)], "batch_sizes": [1]}, "lrs", "out_of_range",
     "a list of 1 to 24"),
    ({"lrs": [0.1, 0], "batch_sizes": [1]}, "lrs.1", "out_of_range", "a number in (0, 10]"),
    ({"lrs": [10.5], "batch_sizes": [1]}, "lrs.0", "out_of_range", "a number in (0, 10]"),
    ({"lrs": [True], "batch_sizes": [1]}, "lrs.0", "bad_type", "a number in (0, 10]"),
    ({"lrs": [0.1], "batch_sizes": []}, "batch_sizes", "out_of_range", "a list of 1 to 8"),
    ({"lrs": [0.1], "batch_sizes": list(range(1, 10))}, "batch_sizes", "out_of_range",
     "a list of 1 to 8"),
    ({"lrs": [0.1], "batch_sizes": [0]}, "batch_sizes.0", "out_of_range",
     "an integer in [1, 100000], or null for full batch"),
    ({"lrs": [0.1], "batch_sizes": [8, "x"]}, "batch_sizes.1", "bad_type", "an integer in [1"),
    ({"lrs": [0.1, 0.1], "batch_sizes": [1]}, "lrs", "bad_value", "must not repeat"),
    ({"lrs": [0.1], "batch_sizes": [None, None]}, "batch_sizes", "bad_value", "must not repeat"),
    ({"batch_sizes": [1]}, "lrs", "bad_type", "a list of 1 to 24"),
    ({"lrs": [0.1], "batch_sizes": [1], "more": 1}, "more", "unknown_field", "not a known"),
    ({"lrs": [0.1], "batch_sizes": [1], "config": {"epochs": 0}}, "config.epochs",
     "out_of_range", "an integer in [1, 1000]"),
])
def test_bad_requests_name_the_field_and_its_range(http, body, field, code, says):
    r = http.post("/api/sweep", json=body)
    assert r.status_code == 422
    error = r.json()
    assert (error["field"], error["code"]) == (field, code)
    assert says in error["detail"]


def test_a_nan_learning_rate_is_refused(http):
    r = http.post("/api/sweep", content=b'{"lrs": [NaN], "batch_sizes": [1]}',
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["field"] == "lrs.0"


def test_the_whole_map_counts_against_the_headless_cap():
    # 100 samples, 2 epochs: batch 1 is 200 iterations, full batch 2; 3 lrs x 202 = 606
    body = {"config": {"epochs": 2}, "lrs": [0.01, 0.1, 1.0], "batch_sizes": [1, None]}
    with TestClient(create_app(Settings(max_headless_iterations=606))) as at_cap:
        assert at_cap.post("/api/sweep", json=body).status_code == 200
    with TestClient(create_app(Settings(max_headless_iterations=605))) as under:
        r = under.post("/api/sweep", json=body)
    assert r.status_code == 422
    error = r.json()
    assert error["code"] == "too_many_iterations" and error["limit"] == 605
    assert "DESCENT_MAX_HEADLESS_ITERATIONS" in error["detail"] and "606" in error["detail"]


def test_a_cell_past_the_per_run_cap_is_refused():
    body = {"config": {"epochs": 2}, "lrs": [0.1], "batch_sizes": [1]}
    with TestClient(create_app(Settings(max_iterations_per_run=199))) as http:
        r = http.post("/api/sweep", json=body)
    assert r.status_code == 422 and "DESCENT_MAX_ITERATIONS_PER_RUN" in r.json()["detail"]


def test_openapi_documents_the_request_and_the_answer(http):
    schema = http.get("/openapi.json").json()
    operation = schema["paths"]["/api/sweep"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/SweepRequest")
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer["$ref"].endswith("/SweepResult")
    parts = schema["components"]["schemas"]
    assert parts["SweepRequest"]["properties"]["lrs"]["maxItems"] == 24
    assert parts["SweepRequest"]["properties"]["batch_sizes"]["maxItems"] == 8
    assert set(parts["SweepCell"]["properties"]) == {"loss", "status", "iterations"}


# -- over the training socket ----------------------------------------------------------------
@pytest.fixture
def client(live_server):
    c = Client(live_server)
    yield c
    c.close()


LONG = {"config": {"n_samples": 1000, "epochs": 8}, "lrs": [0.001 * 1.3**k for k in range(24)],
        "batch_sizes": [1]}  # ~190,000 iterations: seconds of work, cancelled in these tests
SHORT = {"config": {"n_samples": 40, "epochs": 2}, "lrs": [0.01, 0.1], "batch_sizes": [1, None]}


def test_a_sweep_reports_progress_then_the_map_of_post_api_sweep(client, live_server):
    request = {"config": {"n_samples": 100, "epochs": 20}, "lrs": LRS, "batch_sizes": BATCHES}
    client.send({"type": "sweep", "id": 7, **request})
    result, before = client.until("sweep_result")
    progress = [m for m in before if m["type"] == "sweep_progress"]
    assert before == progress and progress[0]["done"] == 0
    assert all(m["id"] == 7 and m["total"] == 20 for m in progress)
    done = [m["done"] for m in progress]
    assert done == sorted(done)
    assert result["id"] == 7
    with TestClient(create_app(Settings())) as http:
        expected = http.post("/api/sweep", json=request).json()
    assert {k: result[k] for k in expected} == expected
    assert PROGRESS_EVERY < 0.25


def test_the_socket_stays_responsive_while_a_sweep_computes(client):
    client.send({"type": "start", "config": {"speed": 0}, "paused": True})
    client.until("state")
    client.send({"type": "sweep", "id": 1, **LONG})
    first, _ = client.until("sweep_progress")
    assert first["done"] == 0
    client.send({"type": "step"})
    frame, before = client.until("frame")  # the step's point, mid-sweep
    assert frame["runs"]["SGD"][0]["iteration"] == 1
    client.send({"type": "speed", "value": 5})
    client.send({"type": "resume"})
    client.send({"type": "pause"})
    seen = []
    while sum(m["type"] == "state" for m in seen) < 3:
        seen.append(client.recv())
    assert "sweep_result" not in [m["type"] for m in before + seen]
    assert [m["paused"] for m in seen if m["type"] == "state"] == [True, False, True]
    client.send({"type": "stop"})
    done, during = client.until("done")
    assert "sweep_result" not in [m["type"] for m in during]
    progress, _ = client.until("sweep_progress")  # the map goes on after the race ended
    assert progress["id"] == 1


def test_a_newer_sweep_drops_the_one_in_progress(client):
    client.send({"type": "sweep", "id": 1, **LONG})
    client.until("sweep_progress")
    client.send({"type": "sweep", "id": 2, **SHORT})
    result, before = client.until("sweep_result")
    assert result["id"] == 2 and len(result["cells"]) == 2
    ids = [m["id"] for m in before if m["type"] == "sweep_progress"]
    assert 2 in ids and ids == sorted(ids)  # nothing of sweep 1 after sweep 2 began
    client.send({"type": "sweep", "id": 3, **SHORT})
    result, between = client.until("sweep_result")
    assert result["id"] == 3 and {m["id"] for m in between} == {3}


def test_a_start_drops_the_sweep_in_progress(client):
    client.send({"type": "sweep", "id": 1, **LONG})
    client.until("sweep_progress")
    client.send({"type": "start", "config": {"speed": 0, "epochs": 1}, "paused": True})
    _, before = client.until("state")
    client.send({"type": "sweep", "id": 2, **SHORT})
    result, after = client.until("sweep_result")
    assert result["id"] == 2
    late = [m for m in before + after if m["type"].startswith("sweep") and m["id"] == 1]
    assert all(m["type"] == "sweep_progress" for m in late)  # never sweep 1's result
    assert not [m for m in after if m.get("id") == 1]


def test_sweep_errors_over_the_socket_name_the_field_and_the_cap(client):
    client.send({"type": "sweep", "lrs": [0.1, 11], "batch_sizes": [1]})
    error = client.recv()
    assert (error["type"], error["field"], error["code"]) == ("error", "lrs.1", "out_of_range")
    assert "(0, 10]" in error["message"]
    client.send({"type": "sweep", "id": 4, "config": {"n_samples": 5000, "epochs": 20},
                 "lrs": [0.1, 1.0, 2.0], "batch_sizes": [1]})
    error = client.recv()
    assert error["code"] == "too_many_iterations" and error["sweep"] == 4
    assert error["limit"] == 200_000 and "DESCENT_MAX_HEADLESS_ITERATIONS" in error["message"]
    client.send({"type": "sweep", "id": 5, **SHORT})  # the socket is still usable
    assert client.until("sweep_result")[0]["id"] == 5


# -- the progress's cadence: a timer-like due time, not the cells ------------------------------------
HUGE_CELL = {"config": {"n_samples": 5000, "epochs": 40}, "lrs": [0.01], "batch_sizes": [1]}


def test_a_slice_ends_at_the_next_progress_even_inside_a_cell():
    """The worker's slice stops when a progress is due (so the loop sends it while the worker
    holds no GIL), however long the cell: a due time already past makes no update at all, one
    ahead lets it work inside the cell and stop there."""
    request = SweepRequest.model_validate(HUGE_CELL)
    sweep = build(request)  # one cell of 200,000 iterations
    assert work(sweep, due=time.monotonic() - 1) is False
    assert sweep._trainer is None and sweep.done == 0  # not one update
    assert work(sweep) is False  # a whole slice: inside the cell, which goes on
    assert sweep._trainer is not None and sweep.done == 0


def test_one_huge_cell_still_reports_progress_again_and_again(client):
    """Progress does not wait for a cell to end: a map of one 200,000-iteration cell sends
    `sweep_progress` (done 0 of 1) over and over until a start drops it."""
    client.send({"type": "sweep", "id": 9, **HUGE_CELL})
    progress = [client.until("sweep_progress")[0] for _ in range(4)]
    assert [(m["id"], m["done"], m["total"]) for m in progress] == [(9, 0, 1)] * 4
    client.send({"type": "start", "config": {"speed": 0, "epochs": 1}, "paused": True})
    _, before = client.until("state")
    assert "sweep_result" not in [m["type"] for m in before]
