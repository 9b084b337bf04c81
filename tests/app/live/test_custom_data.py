"""`dataset: "custom"` end to end: every bound over a real socket and over HTTP, the points in
`started`, rooms, `POST /api/runs` and the exports."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from fastapi.testclient import TestClient
from test_rooms import Viewer, create_room, present
from test_train_socket import Client

from app.core.settings import Settings
from app.main import create_app

ROWS = [[120.0], [135.0], [150.0], [160.0], [175.0], [190.0], [400.0]]
TARGETS = [30.0, 34.0, 37.0, 40.0, 44.0, 47.0, 10.0]
GOOD = {"dataset": "custom", "epochs": 2, "speed": 0,
        "data": {"task": "regression", "X": ROWS, "y": TARGETS}}
PLANE = [[0.0, 0.0], [1.0, 0.5], [2.0, 2.0], [0.5, 3.0], [3.0, 1.0], [2.5, 2.5]]


def custom(task: str = "binary", X=None, y=None, **extra) -> dict:
    """A config of custom data (`extra` merged into `data`, or the config for `config_*`)."""
    data = {"task": task, "X": PLANE if X is None else X, "y": [0, 1, 0, 1, 0, 1] if y is None
            else y}
    config = {"dataset": "custom", "epochs": 1, "speed": 0, "data": data}
    for key, value in extra.items():
        if key.startswith("config_"):
            config[key.removeprefix("config_")] = value
        else:
            data[key] = value
    return config


def without(config: dict, key: str) -> dict:
    return {k: v for k, v in config.items() if k != key}


# (config, field, code, words in the message)
BAD = [
    ({"dataset": "custom"}, "config.data", "bad_value", "required"),
    ({"dataset": "linear", "data": GOOD["data"]}, "config.data", "bad_value", "custom"),
    (custom(X=[]), "config.data.X", "out_of_range", "1 to 2000 rows"),
    (custom(X=[[0.0, 1.0]] * 2001, y=[0, 1] * 1000 + [0]), "config.data.X", "out_of_range",
     "1 to 2000 rows, got 2001"),
    (custom(X="1,2"), "config.data.X", "bad_type", "list"),
    (custom(X=[[1.0, 2.0, 3.0]], y=[0]), "config.data.X[0]", "bad_value", "1 or 2 numbers"),
    (custom(X=[[]], y=[0]), "config.data.X[0]", "bad_value", "1 or 2 numbers"),
    (custom(X=[*PLANE[:5], [1.0]]), "config.data.X[5]", "bad_value", "2 numbers"),
    (custom(X=[*PLANE[:3], 7.0, *PLANE[4:]]), "config.data.X[3]", "bad_type", "list"),
    (custom(X=[*PLANE[:2], ["1", 2.0], *PLANE[3:]]), "config.data.X[2][0]", "bad_type",
     "finite number"),
    (custom(X=[*PLANE[:2], [None, 2.0], *PLANE[3:]]), "config.data.X[2][0]", "bad_type", "None"),
    (custom(X=[*PLANE[:2], [True, 2.0], *PLANE[3:]]), "config.data.X[2][0]", "bad_type", "True"),
    (custom(X=[*PLANE[:2], [[1.0], 2.0], *PLANE[3:]]), "config.data.X[2][0]", "bad_type",
     "finite number"),
    (custom(X=[*PLANE[:4], [1.0, 1000001], PLANE[5]]), "config.data.X[4][1]", "out_of_range",
     "|v| <= 1000000"),
    (custom(X=[*PLANE[:4], [-1e7, 1.0], PLANE[5]]), "config.data.X[4][0]", "out_of_range",
     "|v| <= 1000000"),
    (custom(y=[0, 1, 0]), "config.data.y", "bad_value", "6 targets"),
    (custom(y={"a": 1}), "config.data.y", "bad_type", "6 targets"),
    (custom(y=[0, 1, 0, 1, 0, 2]), "config.data.y[5]", "out_of_range", "0 to 1"),
    (custom(y=[0, 1, 0, 1, 0.5, 1]), "config.data.y[4]", "out_of_range", "0 to 1"),
    (custom(y=[0, 1, 0, 1, "1", 1]), "config.data.y[4]", "bad_type", "class label"),
    (custom(y=[0, 1, 0, 1, True, 1]), "config.data.y[4]", "bad_type", "class label"),
    (custom(y=[0] * 6), "config.data.y", "missing_class", "none has label 1"),
    (custom("multiclass", y=[0, 1, 0, 1, 0, 1]), "config.data.y", "out_of_range",
     "3 to 5 classes"),
    (custom("multiclass", y=[0, 1, 3, 1, 0, 1]), "config.data.y", "missing_class",
     "none has label 2"),
    (custom("multiclass", y=[0, 1, 2, 3, 4, 5]), "config.data.y[5]", "out_of_range", "0 to 4"),
    (custom("regression", y=[1, 2, None, 4, 5, 6]), "config.data.y[2]", "bad_type",
     "finite number"),
    (custom("regression", y=[1, 2, 3, 4, 5, 2e6]), "config.data.y[5]", "out_of_range",
     "1000000"),
    (custom("ranking"), "config.data.task", "bad_value", "regression"),
    (custom(standardize="yes"), "config.data.standardize", "bad_type", "boolean"),
    (custom(extra=1), "config.data.extra", "unknown_field", "not a known field"),
    (custom(config_loss="mse"), "config.loss", "bad_value", "binary_crossentropy"),
]
IDS = [f"{i}-{field}" for i, (_, field, _, _) in enumerate(BAD)]


@pytest.fixture(scope="module")
def http():
    with TestClient(create_app(Settings())) as client:
        yield client


def test_every_bound_is_refused_over_one_socket_that_stays_usable(live_server):
    client = Client(live_server)
    try:
        for config, field, code, words in BAD:
            client.send({"type": "start", "config": config})
            error = client.recv()
            assert error["type"] == "error", (field, error)
            assert (error["field"], error["code"]) == (field, code), error
            assert words in error["message"] and field in error["message"], error["message"]
        client.send({"type": "start", "config": GOOD})
        started, _ = client.until("started")
        assert started["dataset"]["name"] == "custom"
        client.until("done")
    finally:
        client.close()


@pytest.mark.parametrize("config, field, code, words", BAD, ids=IDS)
def test_every_bound_is_refused_over_http(http, config, field, code, words):
    r = http.post("/api/runs", json=config)
    assert r.status_code == 422
    body = r.json()
    assert (body["field"], body["code"]) == (field.removeprefix("config."), code), body
    assert words in body["detail"]


def test_started_carries_the_points_standardized_and_the_config_as_given(live_server):
    client = Client(live_server)
    try:
        client.send({"type": "start", "config": {**GOOD, "n_samples": 50, "noise": 0.3}})
        started, _ = client.until("started")
        config, dataset = started["config"], started["dataset"]
        assert config["n_samples"] is None and config["noise"] is None  # they do not apply
        assert config["data"] == {"task": "regression", "X": ROWS, "y": TARGETS,
                                  "standardize": True}
        X = np.array(dataset["X"])
        assert dataset["n_samples"] == 7 and dataset["y"] == TARGETS
        assert X.mean() == pytest.approx(0, abs=1e-12) and X.std() == pytest.approx(1)
        assert np.allclose(X * dataset["scale"] + dataset["shift"], ROWS)
        surface, _ = client.until("surface")
        assert surface["kind"] == "exact" and surface["lr_limit"] == pytest.approx(1.0)
        done, _ = client.until("done")
        assert set(done["runs"]) == {"SGD", "Mini-batch", "Full batch"}
        client.send({"type": "start", "config": {**GOOD, "data": {**GOOD["data"],
                                                                  "standardize": False}}})
        started, _ = client.until("started")
        assert started["dataset"]["X"] == ROWS and started["dataset"]["shift"] is None
    finally:
        client.close()


def full_precision_rows(n: int) -> tuple[list[list[float]], list[int]]:
    """n two-feature rows of 17-digit numbers near the bound: the longest JSON a start can hold."""
    rng = np.random.default_rng(0)
    X = (-(rng.random((n, 2)) * 9e5 + 1e5)).tolist()  # "-123456.78901234567"
    return X, [i % 2 for i in range(n)]


def test_a_start_with_2000_full_precision_rows_fits_the_default_cap(live_server):
    X, y = full_precision_rows(2000)
    message = json.dumps({"type": "start", "paused": True, "config": custom(
        X=X, y=y, config_runs=[{"name": "F", "batch_size": None}])})
    assert len(message.encode()) < Settings().max_message_bytes
    client = Client(live_server)
    try:
        client.ws.send(message)
        started, _ = client.until("started")
        assert started["dataset"]["n_samples"] == 2000
        assert started["config"]["data"]["X"] == X
        # a larger message still gets too_large, naming the setting, and the socket stays open
        cap = Settings().max_message_bytes
        client.ws.send(message[:-1] + " " * (cap - len(message) + 1) + "}")
        error, _ = client.until("error")
        assert error["code"] == "too_large" and "DESCENT_MAX_MESSAGE_BYTES" in error["message"]
        client.send({"type": "start", "config": GOOD})
        client.until("done")
    finally:
        client.close()


def test_a_room_viewer_sees_the_points(live_server):
    room = create_room(live_server)
    teacher = Client(live_server)
    viewer = Viewer(live_server, room["code"])
    try:
        present(teacher, room)
        teacher.send({"type": "start", "config": custom("multiclass", y=[0, 1, 2, 0, 1, 2])})
        t_started, _ = teacher.until("started")
        v_started, _ = viewer.until("started")
        assert v_started["dataset"] == t_started["dataset"]
        assert v_started["config"]["data"]["X"] == PLANE
        assert v_started["dataset"]["n_classes"] == 3
    finally:
        teacher.close()
        viewer.close()


def test_headless_run_on_custom_points(http):
    r = http.post("/api/runs", json=custom("binary", config_hidden=[3]))
    assert r.status_code == 200
    data = r.json()
    assert data["config"]["data"]["X"] == PLANE
    assert data["surface"]["kind"] == "projected"
    for name in ("SGD", "Mini-batch", "Full batch"):
        assert len(data["runs"][name]) == {"SGD": 6, "Mini-batch": 1, "Full batch": 1}[name]


def test_exports_of_custom_points(http):
    body = {"config": GOOD}
    saved = http.post("/api/export/json", json=body).json()
    assert saved["config"]["data"]["X"] == ROWS and saved["config"]["dataset"] == "custom"
    assert http.post("/api/export/check", content=json.dumps(saved)).json() == {"ok": True}
    # the saved config starts the same race again, bit for bit
    again = http.post("/api/runs", json=saved["config"]).json()
    assert again["runs"] == saved["runs"]
    r = http.post("/api/export/csv", json=body)
    assert 'filename="descent-custom-seed0.csv"' in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text.removeprefix("\ufeff"))))
    assert {row["dataset"] for row in rows} == {"custom"}
    for lang, words in (("en", "Your own data"), ("ko", "내 데이터")):
        html = http.post("/api/export/html", json={**body, "lang": lang}).text
        assert words in html
