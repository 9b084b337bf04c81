"""Numeric edge cases over real WebSockets: divergence, no noise, one sample, huge batches,
every loss against every dataset, every activation, the largest allowed values.

Every message is parsed strictly (`strict_loads`: NaN or Infinity on the wire fails the test).
Whatever the config, the outcome is clear: `started`, `surface`, frames whose runs count their
iterations from 1 without a gap, and a `done` whose statuses are the documented ones; or one
`error` naming the field.
"""

from __future__ import annotations

import json
import math

import httpx
import pytest
from test_train_socket import Client

from app.core.schemas import MAX_EPOCHS, MAX_LR, MAX_SAMPLES, MAX_SEED, MAX_SPEED

STATUSES = {"running", "completed", "target_reached", "early_stopped", "diverged", "stopped"}
FINAL = STATUSES - {"running"}
EVERY_BATCH_MODE = [{"name": "SGD", "batch_size": 1}, {"name": "Mini-batch", "batch_size": 32},
                    {"name": "Full batch", "batch_size": None}]
ACTIVATIONS = ["sigmoid", "tanh", "relu", "leaky_relu", "linear"]


@pytest.fixture
def client(live_server):
    c = Client(live_server)
    yield c
    c.close()


@pytest.fixture(scope="module")
def datasets(live_server) -> list[dict]:
    r = httpx.get(live_server + "/api/datasets", timeout=30)
    assert r.status_code == 200
    return r.json()


def finite(value) -> bool:
    if isinstance(value, list):
        return all(finite(v) for v in value)
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def race(client: Client, config: dict, timeout: float = 120) -> dict:
    """Run `config` to `done`; check the stream's shape; return what was seen, by kind."""
    client.send({"type": "start", "config": config})
    started = client.recv(timeout=timeout)
    assert started["type"] == "started", started
    surface = client.recv(timeout=timeout)
    assert surface["type"] == "surface", surface
    done, seen = client.until("done", timeout=timeout)
    points: dict[str, list[dict]] = {r["name"]: [] for r in started["runs"]}
    for msg in seen:
        assert msg["type"] in ("frame", "detail", "surface"), msg["type"]  # surface: a refit
        if msg["type"] == "frame":
            for name, pts in msg["runs"].items():
                points[name].extend(pts)
    for run in started["runs"]:
        name = run["name"]
        its = [p["iteration"] for p in points[name]]
        outcome = done["runs"][name]
        assert outcome["status"] in FINAL, outcome
        assert its == list(range(1, outcome["iterations"] + 1)), f"{name}: a gap or a repeat"
        assert outcome["iterations"] <= run["total_iterations"]
        for p in points[name]:
            assert p["status"] in STATUSES
            assert 1 <= p["batch_size"] <= run["effective_batch_size"]  # the last may be short
        if points[name]:
            last = points[name][-1]
            assert last["status"] == outcome["status"]
            assert outcome["loss"] == last["loss"]
    return {"started": started, "surface": surface, "done": done, "points": points,
            "details": [m for m in seen if m["type"] == "detail"]}


def statuses(result: dict) -> dict[str, str]:
    return {name: r["status"] for name, r in result["done"]["runs"].items()}


# -- divergence, noise, tiny and huge sizes ------------------------------------------------------
def test_lr_10_on_linear_diverges_at_once_and_the_last_point_is_finite(client):
    result = race(client, {"dataset": "linear", "lr": MAX_LR, "epochs": 5, "speed": 0})
    assert set(statuses(result).values()) == {"diverged"}
    for name, pts in result["points"].items():
        assert pts, name
        assert len(pts) < 20, f"{name} took {len(pts)} iterations to diverge"
        last = pts[-1]
        assert last["status"] == "diverged"
        for key in ("loss", "batch_loss", "params", "xy"):
            assert finite(last[key]), (name, key, last[key])
        # Every point before the end is finite too (a loss that is not finite would be null).
        assert all(finite(p["loss"]) for p in pts), name


def test_zero_noise_fits_the_line_exactly(client):
    result = race(client, {"dataset": "linear", "noise": 0, "lr": 0.5, "epochs": 100, "speed": 0,
                           "runs": [{"name": "Full batch", "batch_size": None}]})
    assert result["started"]["config"]["noise"] == 0
    assert statuses(result) == {"Full batch": "completed"}
    assert result["surface"]["minimum_loss"] == pytest.approx(0, abs=1e-12)
    assert result["done"]["runs"]["Full batch"]["loss"] < 1e-6


@pytest.mark.parametrize("dataset", ["linear", "sine", "moons", "xor", "multiblobs", "spiral_k"])
def test_a_single_sample_in_every_batch_mode(client, dataset):
    result = race(client, {"dataset": dataset, "n_samples": 1, "epochs": 3, "speed": 0,
                           "runs": EVERY_BATCH_MODE})
    assert result["started"]["dataset"]["n_samples"] == 1
    for run in result["started"]["runs"]:
        assert run["iterations_per_epoch"] == 1
        assert run["effective_batch_size"] == 1
        assert run["total_iterations"] == 3
    assert set(statuses(result).values()) == {"completed"}
    for pts in result["points"].values():
        assert [p["epoch"] for p in pts] == [1, 2, 3]
        assert [p["samples"] for p in pts] == [1, 2, 3]


def test_a_batch_bigger_than_the_data_is_a_full_batch(client):
    runs = [{"name": "B500", "batch_size": 500}, {"name": "B100000", "batch_size": 100_000},
            {"name": "Full", "batch_size": None}]
    result = race(client, {"n_samples": 50, "epochs": 4, "speed": 0, "runs": runs})
    for run in result["started"]["runs"]:
        assert run["iterations_per_epoch"] == 1, run
        assert run["total_iterations"] == 4
        assert run["effective_batch_size"] == 50
    pts = result["points"]
    assert [p["samples"] for p in pts["B500"]] == [50, 100, 150, 200]
    # Same data, same start, same whole batch: the three runs are one and the same.
    assert [p["params"] for p in pts["B500"]] == [p["params"] for p in pts["Full"]]
    assert [p["params"] for p in pts["B100000"]] == [p["params"] for p in pts["Full"]]


@pytest.mark.parametrize("names", [["a", "a"], ["SGD", "B", "SGD"], ["a", " a "]])
def test_duplicate_run_names_are_refused_naming_config_runs(client, names):
    runs = [{"name": name, "batch_size": i + 1} for i, name in enumerate(names)]
    client.send({"type": "start", "config": {"runs": runs}})
    err = client.recv()
    assert err["type"] == "error"
    assert err["field"] == "config.runs"
    assert err["code"] == "bad_value"
    assert names[0].strip() in err["message"]
    race(client, {"n_samples": 20, "epochs": 1, "speed": 0})  # the socket is still fine


# -- every loss against every dataset; every activation ------------------------------------------
def test_every_loss_against_every_dataset(client, datasets):
    losses = sorted({loss for d in datasets for loss in d["allowed_losses"]})
    assert len(datasets) >= 2 and len(losses) >= 2
    problems = []
    for d in datasets:
        for loss in losses:
            config = {"dataset": d["name"], "loss": loss, "n_samples": 20, "epochs": 2,
                      "speed": 0}
            if loss in d["allowed_losses"]:
                result = race(client, config)
                if result["started"]["config"]["loss"] != loss:
                    problems.append(f"{d['name']} + {loss}: started with another loss")
                if not set(statuses(result).values()) <= {"completed", "diverged"}:
                    problems.append(f"{d['name']} + {loss}: {statuses(result)}")
            else:
                client.send({"type": "start", "config": config})
                err = client.recv()
                if err["type"] != "error" or err["field"] != "config.loss":
                    problems.append(f"{d['name']} + {loss}: expected an error on config.loss, "
                                    f"got {err}")
                elif d["name"] not in err["message"] and d["task"] not in err["message"]:
                    problems.append(f"{d['name']} + {loss}: the message does not say why: {err}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("dataset", ["moons", "multiblobs"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_hidden_layers_with_every_activation(client, dataset, activation):
    result = race(client, {"dataset": dataset, "hidden": [6, 4], "activation": activation,
                           "n_samples": 40, "epochs": 2, "speed": 0})
    assert result["started"]["model"]["activation"] == activation
    assert result["started"]["model"]["layer_sizes"][1:3] == [6, 4]
    assert result["surface"]["kind"] != "exact"
    assert set(statuses(result).values()) <= {"completed", "diverged"}
    for pts in result["points"].values():
        assert all(finite(p["residual"]) for p in pts)
    assert result["details"], "no detail message"


def test_points_carry_every_weight_and_the_width_cap_keeps_them_small(client):
    """The protocol: each point has `params` (all weights); 4 x 16 units bound their size."""
    result = race(client, {"dataset": "moons", "hidden": [16, 16, 16, 16], "n_samples": 20,
                           "epochs": 1, "speed": 0})
    n_params = 2 * 16 + 16 + 3 * (16 * 16 + 16) + 16 + 1
    points = [p for pts in result["points"].values() for p in pts]
    assert all(len(p["params"]) == n_params for p in points)
    biggest = max(len(json.dumps(p)) for p in points)
    assert biggest < 32_000, f"a point takes {biggest / 1e3:.0f} KB on the wire"


# -- the largest allowed values ------------------------------------------------------------------
LARGEST = {"n_samples": MAX_SAMPLES, "lr": MAX_LR, "speed": MAX_SPEED, "noise": 2,
           "seed": MAX_SEED}


@pytest.mark.parametrize("config", [
    # 5,000 samples, 1,000 epochs, lr 10: every run diverges within a few iterations.
    {**LARGEST, "dataset": "linear", "epochs": MAX_EPOCHS},
    # Adam's steps stay bounded at any lr: one epoch of 5,000 SGD steps at speed 10,000.
    {**LARGEST, "dataset": "sine", "epochs": 1, "loss": "mae",
     "runs": [{"name": "adam", "batch_size": 1, "update": "adam"},
              {"name": "momentum", "batch_size": 7, "update": "momentum"}]},
    # An MLP on 5,000 points with six runs (big batches: ~20 iterations in all).
    {**LARGEST, "dataset": "moons", "hidden": [8], "epochs": 1, "target_loss": 1e6,
     "patience": MAX_EPOCHS,
     "runs": [{"name": f"B{b}", "batch_size": b, "update": u}
              for b, u in [(100_000, "sgd"), (5000, "momentum"), (2500, "adam"),
                           (1000, "sgd"), (None, "adam"), (500, "momentum")]]},
    {**LARGEST, "dataset": "multiblobs", "n_classes": 5, "hidden": [8], "activation": "relu",
     "loss": "categorical_crossentropy", "epochs": 2, "pacing": "samples",
     "runs": [{"name": "B1000", "batch_size": 1000}, {"name": "Full", "batch_size": None}]},
    # 1,000 epochs at speed 10,000 of a single sample.
    {"n_samples": 1, "epochs": MAX_EPOCHS, "speed": MAX_SPEED, "lr": MAX_LR,
     "runs": [{"name": "Full", "batch_size": None}]},
], ids=["linear-diverges", "sine-adam-momentum", "moons-6-runs", "multiblobs-5-classes",
        "1000-epochs"])
def test_the_largest_allowed_values_end_clearly(client, config):
    result = race(client, config, timeout=180)
    assert result["started"]["config"]["n_samples"] == config["n_samples"]
    for name, outcome in result["done"]["runs"].items():
        assert outcome["status"] in FINAL
        assert outcome["loss"] is None or finite(outcome["loss"]), (name, outcome)
        for p in result["points"][name]:
            assert finite(p["params"]) and finite(p["xy"]), (name, p["iteration"])


def test_the_largest_target_loss_stops_every_run_at_once(client):
    result = race(client, {"target_loss": 1e6, "epochs": 5, "speed": 0})
    assert set(statuses(result).values()) == {"target_reached"}
    assert all(len(pts) == 1 for pts in result["points"].values())


# -- strict JSON from the headless run and the exports of a diverging config -----------------------
def _strict(text: str):
    """`text` parsed as strict JSON: NaN, Infinity and -Infinity raise."""
    def refuse(name: str):
        raise ValueError(f"{name} is not JSON")
    return json.loads(text, parse_constant=refuse)


# Its weights overflow: the projected points' residual shares come out NaN before encoding
# (the JSON export then failed with a 422 from json.dumps(allow_nan=False)).
DIVERGING = {"dataset": "multiblobs", "hidden": [16], "activation": "linear", "lr": 10,
             "epochs": 5, "runs": [{"name": "SGD", "batch_size": 1},
                                   {"name": "Adam", "batch_size": 4, "update": "adam"}]}


def test_a_diverging_config_gives_strict_json_everywhere(live_server):
    """POST /api/runs, and the JSON, CSV and HTML exports: no NaN or Infinity anywhere, though
    the runs blow up (the engine's losses and weights pass through inf and nan)."""
    runs = httpx.post(live_server + "/api/runs", json=DIVERGING, timeout=120)
    assert runs.status_code == 200
    result = _strict(runs.text)
    assert "diverged" in {r["status"] for r in result["done"]["runs"].values()}
    assert None in [p["residual"] for p in result["runs"]["SGD"]]  # what was NaN
    exported = httpx.post(live_server + "/api/export/json", json={"config": DIVERGING},
                          timeout=120)
    assert exported.status_code == 200, exported.text[:300]
    assert _strict(exported.text) == result
    check = httpx.post(live_server + "/api/export/check", content=exported.content, timeout=120)
    assert check.json() == {"ok": True}, check.text
    rows = httpx.post(live_server + "/api/export/csv", json={"config": DIVERGING}, timeout=120)
    for row in rows.text.removeprefix("\ufeff").splitlines()[1:]:
        for cell in row.split(",")[1:]:
            if cell and cell[0] in "-0123456789nNiI":
                assert math.isfinite(float(cell)), row
    report = httpx.post(live_server + "/api/export/html", json={"config": DIVERGING},
                        timeout=120).text
    # The figure is Plotly.newPlot("id", data, layout, config): each argument strict JSON.
    at = report.index("Plotly.newPlot(") + len("Plotly.newPlot(")
    decoder = json.JSONDecoder(parse_constant=lambda name: _strict(name))
    args = []
    for _ in range(4):
        while report[at] in " \n\t,":
            at += 1
        value, at = decoder.raw_decode(report, at)
        args.append(value)
    assert [trace["type"] for trace in args[1]][:2] == ["contour", "scatter"]
