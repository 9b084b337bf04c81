"""`POST /api/runs`: the whole comparison as JSON, for scripts and notebooks."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

import engine
from app.core.settings import Settings
from app.main import create_app


@pytest.fixture(scope="module")
def http():
    with TestClient(create_app(Settings())) as client:
        yield client


def test_headless_run_returns_every_point_and_matches_the_engine(http):
    config = {"dataset": "linear", "n_samples": 50, "epochs": 2, "seed": 3,
              "runs": [{"name": "B10", "batch_size": 10}]}
    r = http.post("/api/runs", json=config)
    assert r.status_code == 200
    body = r.json()
    points = body["runs"]["B10"]
    assert [p["iteration"] for p in points] == list(range(1, 11))
    assert body["done"]["runs"]["B10"]["status"] == "completed"
    # The same numbers as the engine called directly with the same seed.
    data = engine.make_dataset("linear", n_samples=50, noise=body["config"]["noise"], seed=3)
    steps = list(engine.train(data.X, data.y, model=engine.MLP([1, 1], seed=3), loss="mse",
                              lr=body["config"]["lr"], batch_size=10, epochs=2, seed=3))
    for p, s in zip(points, steps, strict=True):
        assert np.array_equal(p["params"], s.params)
        assert p["loss"] == s.loss


def test_two_headless_runs_of_one_config_are_identical(http):
    config = {"dataset": "moons", "hidden": [4], "n_samples": 40, "epochs": 2, "seed": 7}
    a = http.post("/api/runs", json=config).json()
    b = http.post("/api/runs", json=config).json()
    assert a["runs"] == b["runs"]


@pytest.mark.parametrize("config, field", [
    ({"lr": 0}, "lr"),
    ({"epochs": 100000}, "epochs"),
    ({"dataset": "moons", "loss": "mae"}, "loss"),
])
def test_headless_rejects_bad_configs_with_422(http, config, field):
    r = http.post("/api/runs", json=config)
    assert r.status_code == 422
    assert field in r.text


def test_headless_refuses_too_much_work_with_a_reason(http):
    r = http.post("/api/runs", json={"n_samples": 5000, "epochs": 1000})
    assert r.status_code == 422
    assert "at most" in r.json()["detail"]
