"""Exports: CSV, JSON (what the socket sent, checked by load_export) and the HTML report."""

from __future__ import annotations

import copy
import csv
import io
import json
import re

import pytest
from fastapi.testclient import TestClient
from websockets.sync.client import connect

from app.core.colors import RUN_COLORS
from app.core.schemas import TrainConfig
from app.core.settings import Settings
from app.export.compute import FORMAT
from app.export.validate import load_export
from app.live.race import Race
from app.main import create_app

MAX_UPLOAD_BYTES = Settings().max_upload_mb * 1024 * 1024

SMALL = {"dataset": "linear", "n_samples": 40, "epochs": 3, "seed": 5,
         "runs": [{"name": "SGD", "batch_size": 1}, {"name": "미니 배치", "batch_size": 8},
                  {"name": "Full batch", "batch_size": None, "lr": 0.5}]}
PROJECTED = {"dataset": "moons", "hidden": [3], "n_samples": 30, "epochs": 2, "seed": 2,
             "runs": [{"name": "SGD", "batch_size": 1}, {"name": "B", "batch_size": 10,
                                                          "update": "adam"}]}


@pytest.fixture(scope="module")
def http():
    with TestClient(create_app(Settings())) as client:
        yield client


def export(http, fmt: str, config: dict, iterations: dict | None = None):
    body = {"config": config} if iterations is None else {"config": config, "iterations": iterations}
    return http.post(f"/api/export/{fmt}", json=body)


def csv_rows(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")  # for spreadsheets
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


# --- JSON -------------------------------------------------------------------------------------

@pytest.mark.parametrize("config", [SMALL, PROJECTED], ids=["exact", "projected"])
def test_json_export_is_the_headless_run(http, config):
    """The headless run is the same document, format marker included: it loads back too."""
    r = export(http, "json", config)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    data = r.json()
    assert list(data) == ["format", "config", "started", "surface", "runs", "done"]
    assert data["format"] == FORMAT
    assert data == http.post("/api/runs", json=config).json()


def test_json_export_passes_load_export(http):
    data = export(http, "json", PROJECTED, {"SGD": 9}).json()
    assert load_export(data).model_dump(exclude_none=True) == strip_none(data)
    assert http.post("/api/export/check", content=json.dumps(data)).json() == {"ok": True}


def strip_none(value):
    if isinstance(value, dict):
        return {k: strip_none(v) for k, v in value.items() if v is not None}
    return [strip_none(v) for v in value] if isinstance(value, list) else value


def test_json_export_is_what_the_live_socket_sent(http, live_server):
    config = {**SMALL, "speed": 0}
    exported = export(http, "json", config).json()
    live: dict[str, list] = {}
    with connect(live_server.replace("http", "ws", 1) + "/ws/train", max_size=2**24) as ws:
        ws.send(json.dumps({"type": "start", "config": config}))
        messages = {}
        while "done" not in messages:
            msg = json.loads(ws.recv(timeout=30))
            messages.setdefault(msg["type"], msg)
            for name, points in msg.get("runs", {}).items() if msg["type"] == "frame" else ():
                live.setdefault(name, []).extend(points)
    assert live == exported["runs"]
    for kind in ("started", "surface", "done"):
        sent = {k: v for k, v in messages[kind].items() if k != "generation"}
        assert sent == {k: v for k, v in exported[kind].items() if k != "generation"}, kind


def test_two_exports_of_one_config_are_byte_identical(http):
    assert export(http, "json", PROJECTED).content == export(http, "json", PROJECTED).content


def test_runs_are_cut_where_the_teacher_was(http):
    data = export(http, "json", SMALL, {"SGD": 17, "미니 배치": 0, "Full batch": 10_000}).json()
    assert [p["iteration"] for p in data["runs"]["SGD"]] == list(range(1, 18))
    assert data["runs"]["미니 배치"] == []
    assert len(data["runs"]["Full batch"]) == 3  # the whole run: 3 epochs of one iteration
    done = data["done"]["runs"]
    assert (done["SGD"]["status"], done["SGD"]["iterations"]) == ("stopped", 17)
    assert (done["미니 배치"]["status"], done["미니 배치"]["iterations"]) == ("stopped", 0)
    assert done["Full batch"]["status"] == "completed"
    whole = export(http, "json", SMALL).json()
    assert data["runs"]["SGD"] == whole["runs"]["SGD"][:17]  # a cut is a prefix, bit for bit


# --- CSV --------------------------------------------------------------------------------------

def test_csv_has_one_row_per_iteration_per_run_with_the_cut_honoured(http):
    cut = {"SGD": 25, "미니 배치": 4}
    r = export(http, "csv", SMALL, cut)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == 'attachment; filename="descent-linear-seed5.csv"'
    rows = csv_rows(r.text)
    data = export(http, "json", SMALL, cut).json()
    assert list(rows[0]) == ["run", "iteration", "epoch", "batch_size", "samples", "batch_loss",
                             "loss", "status", "x", "y", "param_w", "param_b", "dataset"]
    by_run = {name: [row for row in rows if row["run"] == name] for name in data["runs"]}
    assert {name: len(r) for name, r in by_run.items()} == {"SGD": 25, "미니 배치": 4,
                                                           "Full batch": 3}
    for name, points in data["runs"].items():
        for row, p in zip(by_run[name], points, strict=True):
            assert int(row["iteration"]) == p["iteration"]
            assert float(row["loss"]) == p["loss"]  # every digit survives
            assert float(row["batch_loss"]) == p["batch_loss"]
            assert [float(row["x"]), float(row["y"])] == p["xy"]
            assert [float(row["param_w"]), float(row["param_b"])] == p["params"]
            assert row["status"] == p["status"]


def test_csv_names_every_parameter_of_a_bigger_model(http):
    rows = csv_rows(export(http, "csv", PROJECTED, {"SGD": 3, "B": 1}).text)
    race = Race(TrainConfig.model_validate(PROJECTED), generation=1)
    params = [f"param_{name}" for name in race.model.param_names()]
    assert list(rows[0])[10:] == [*params, "dataset"] and len(params) == race.model.n_params
    assert len(rows) == 4


# --- HTML -------------------------------------------------------------------------------------

def test_html_report_is_standalone_with_the_config(http):
    r = export(http, "html", SMALL, {"SGD": 30})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["content-disposition"] == 'attachment; filename="descent-linear-seed5.html"'
    page = r.text
    assert page.lower().startswith(("<!doctype html>", "<html>"))
    assert "<title>Descent Playground: line y = 2x − 1 · seed 5</title>" in page
    assert re.findall(r"<script[^>]*\bsrc=", page) == []  # plotly.js is inline: opens offline
    assert page.count("Plotly.newPlot") == 2 and len(page) > 1_000_000  # plots, data view
    # plotly writes the figure's JSON with orjson (raw UTF-8) or json (\u escapes).
    assert "미니 배치" in page or json.dumps("미니 배치")[1:-1] in page
    for text in ("<td>stopped</td>", '"contour"', "<th>Samples</th>", "<td>MSE</td>",
                 RUN_COLORS[0], RUN_COLORS[1], RUN_COLORS[2]):
        assert text in page, text


# --- bad requests -----------------------------------------------------------------------------

@pytest.mark.parametrize("body, words", [
    ({"config": {"lr": 0}}, "config.lr must be a number in (0, 10]"),
    ({"config": {"dataset": "moons", "loss": "mae"}}, "does not fit"),
    ({"config": {}, "iterations": {"Nobody": 3}}, "unknown runs: Nobody"),
    ({"config": {}, "iterations": {"SGD": -1}}, "iterations.SGD"),
    ({"config": {}, "iterations": {"SGD": "many"}}, "iterations.SGD"),
    ({"config": {}, "extra": 1}, "extra is not a known field"),
    ([1, 2, 3], "must be a JSON object"),
    (None, "must be a JSON object"),
    ({"config": {"n_samples": 5000, "epochs": 1000}},
     "at most 200,000 (DESCENT_MAX_HEADLESS_ITERATIONS)"),
    ({"config": {"dataset": "moons", "hidden": [16, 16, 16, 16], "n_samples": 200,
                 "runs": [{"name": "SGD", "batch_size": 1}]}},
     "at most 3,000,000 (DESCENT_MAX_HEADLESS_VALUES)"),
])
@pytest.mark.parametrize("fmt", ["json", "csv", "html"])
def test_bad_export_bodies_get_422_naming_the_problem(http, fmt, body, words):
    r = http.post(f"/api/export/{fmt}", json=body)
    assert r.status_code == 422
    assert words in r.json()["detail"]


def test_a_cut_brings_a_big_config_under_the_work_cap(http):
    big = {"n_samples": 5000, "epochs": 1000, "runs": [{"name": "SGD", "batch_size": 1}]}
    r = export(http, "json", big, {"SGD": 50})
    assert r.status_code == 200
    assert len(r.json()["runs"]["SGD"]) == 50


def test_unknown_export_format_is_refused_naming_the_formats(http):
    r = http.post("/api/export/xlsx", json={})
    assert r.status_code == 422
    assert r.json()["field"] == "path.fmt"
    assert "'csv', 'json' or 'html'" in r.json()["detail"]


def test_empty_body_exports_the_default_config(http):
    r = http.post("/api/export/json", json={"iterations": {"SGD": 2, "Mini-batch": 1,
                                                          "Full batch": 1}})
    assert r.status_code == 200
    assert r.json()["config"] == TrainConfig().model_dump()


# --- checking an uploaded export --------------------------------------------------------------

@pytest.fixture(scope="module")
def good(http):
    return export(http, "json", SMALL, {"SGD": 5}).json()


def broken(data: dict, change) -> dict:
    out = copy.deepcopy(data)
    change(out)
    return out


def _drop_point(d):
    del d["runs"]["SGD"][2]


@pytest.mark.parametrize("change, words", [
    (lambda d: d.update(format="other/1"), "format must be 'descent-playground/1'"),
    (lambda d: d.pop("format"), "format: Field required"),
    (lambda d: d.pop("surface"), "surface: Field required"),
    (lambda d: d["config"].update(lr=99), "config.lr must be"),
    (lambda d: d["config"].update(colour=1), "config.colour is not a known field"),
    (lambda d: d["started"].update(type="frame"), "started.type: Input should be 'started'"),
    (lambda d: d["started"]["runs"].reverse(), "started.runs"),
    (lambda d: d["surface"]["z"].pop(), "surface.z"),
    (lambda d: d["surface"]["z"][0].pop(), "surface.z.0 must hold 51 numbers"),
    (lambda d: d["surface"]["z"][0].append(1.0), "surface.z.0: List should have at most 51"),
    (lambda d: d["surface"]["x"].__setitem__(0, "a"), "surface.x"),
    (lambda d: d["runs"].pop("SGD"), "runs must map each run"),
    (_drop_point, "runs.SGD.2.iteration must be 3"),
    (lambda d: d["runs"]["SGD"][0].pop("xy"), "runs.SGD.0.xy: Field required"),
    (lambda d: d["runs"]["SGD"][0].update(xy=[1.0]), "runs.SGD.0.xy: List should have at least 2"),
    (lambda d: d["runs"]["SGD"][0].update(params=[1.0, "b"]), "runs.SGD.0.params.1: Input should "
                                                               "be a valid number, got 'b'"),
    (lambda d: d["runs"]["SGD"][0].update(loss="low"), "runs.SGD.0.loss: Input should be a valid "
                                                       "number, got 'low'"),
    (lambda d: d["runs"]["SGD"][1].update(params=[1.0, 2.0, 3.0]), "must hold 2 numbers"),
    (lambda d: d["done"].update(runs={}), "done.runs"),
])
def test_load_export_names_what_is_wrong(http, good, change, words):
    bad = broken(good, change)
    with pytest.raises(ValueError) as info:
        load_export(bad)
    assert words in str(info.value)
    r = http.post("/api/export/check", content=json.dumps(bad))
    assert r.status_code == 422
    assert words in r.json()["detail"]


@pytest.mark.parametrize("content, words", [
    (b"not json", "not valid JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (b'{"format": NaN}', "format must be"),
    (b'{"format": "descent-playground/1", "config": {"lr": NaN}}', "config.lr"),
    (b"\xff\xfe", "not UTF-8"),
])
def test_check_refuses_files_that_are_not_exports(http, content, words):
    r = http.post("/api/export/check", content=content)
    assert r.status_code == 422
    assert words in r.json()["detail"]


def test_check_accepts_a_file_saved_with_a_bom(http, good):
    content = "\ufeff".encode() + json.dumps(good, ensure_ascii=False).encode()
    assert http.post("/api/export/check", content=content).json() == {"ok": True}


def test_check_refuses_a_too_big_upload(http):
    r = http.post("/api/export/check", content=b" " * (MAX_UPLOAD_BYTES + 1))
    assert r.status_code == 413
    assert "MB" in r.json()["detail"]


def test_check_refuses_a_too_big_upload_sent_in_chunks(http):
    chunk = b" " * (1024 * 1024)
    body = (chunk for _ in range(MAX_UPLOAD_BYTES // len(chunk) + 1))
    r = http.post("/api/export/check", content=body)  # no Content-Length: chunked
    assert r.status_code == 413


# --- what "Load a saved run" accepts ------------------------------------------------------------

SENTINEL = 12345.678  # put where a test wants a number written as raw JSON text


def with_raw(data: dict, change, raw: str) -> bytes:
    """`data` changed by `change` (which writes SENTINEL somewhere), SENTINEL spelled `raw`."""
    text = json.dumps(broken(data, change))
    assert text.count(str(SENTINEL)) == 1
    return text.replace(str(SENTINEL), raw).encode()


@pytest.mark.parametrize("where, change", [
    ("done.runs.SGD.loss", lambda d: d["done"]["runs"]["SGD"].update(loss=SENTINEL)),
    ("surface.lambda_max", lambda d: d["surface"].update(lambda_max=SENTINEL)),
    ("started.initial_loss", lambda d: d["started"].update(initial_loss=SENTINEL)),
    ("started.dataset.X.0.0", lambda d: d["started"]["dataset"]["X"][0].__setitem__(0, SENTINEL)),
    ("runs.SGD.1.residual", lambda d: d["runs"]["SGD"][1].update(residual=SENTINEL)),
])
def test_a_number_past_what_a_double_holds_is_refused_naming_the_field(http, good, where, change):
    """1e400 parses as infinity: once it passed wherever the check did not look."""
    r = http.post("/api/export/check", content=with_raw(good, change, "1e400"))
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith(where + ": Input should be a finite number")


@pytest.mark.parametrize("where, change", [
    ("started.dataset.X.0.0", lambda d: d["started"]["dataset"]["X"][0].__setitem__(0, "0.5")),
    ("started.dataset.y.3", lambda d: d["started"]["dataset"]["y"].__setitem__(3, "1")),
    ("surface.minimum_loss", lambda d: d["surface"].update(minimum_loss="0.1")),
    ("done.runs.SGD.iterations", lambda d: d["done"]["runs"]["SGD"].update(iterations="5")),
    ("runs.SGD.0.epoch", lambda d: d["runs"]["SGD"][0].update(epoch=True)),
    ("started.model.n_params", lambda d: d["started"]["model"].update(n_params=2.0)),
    ("surface.labels.0", lambda d: d["surface"]["labels"].__setitem__(0, 7)),
    ("config.epochs", lambda d: d["config"].update(epochs=True)),
])
def test_a_value_of_the_wrong_kind_is_refused_naming_the_field(http, good, where, change):
    r = http.post("/api/export/check", content=json.dumps(broken(good, change)))
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith(where), r.json()["detail"]


def test_a_file_without_the_dataset_is_refused(http, good):
    r = http.post("/api/export/check",
                  content=json.dumps(broken(good, lambda d: d["started"].pop("dataset"))))
    assert r.status_code == 422
    assert r.json()["detail"] == "started.dataset: Field required"


def test_a_surface_bigger_than_the_server_draws_is_refused(http, good):
    """3,500 x 3,500 (24 MB of zeros, under the byte cap): the page would hang drawing it."""
    row = "[" + ",".join(["0"] * 3500) + "]"
    huge = f'"x":{row},"y":{row},"z":[{",".join([row] * 3500)}]'
    text = json.dumps(good)
    start = text.index('"x": ', text.index('"surface": {'))
    end = text.index(', "labels"', start)
    content = (text[:start] + huge + text[end:]).encode()
    assert 20e6 < len(content) < MAX_UPLOAD_BYTES
    r = http.post("/api/export/check", content=content)
    assert r.status_code == 422
    assert r.json()["detail"] == ("surface.x: List should have at most 51 items after "
                                  "validation, not 3500")


def test_an_upload_past_its_cap_is_refused_naming_the_setting():
    with TestClient(create_app(Settings(max_upload_mb=1))) as client:
        r = client.post("/api/export/check", content=b" " * (1024 * 1024 + 1))
        assert r.status_code == 413
        assert "1 MB" in r.json()["detail"] and "DESCENT_MAX_UPLOAD_MB" in r.json()["detail"]
        chunks = (b" " * 65536 for _ in range(17))  # chunked: no Content-Length to go by
        assert client.post("/api/export/check", content=chunks).status_code == 413


ROUND_TRIPS = {
    "exact": SMALL,
    "projected": PROJECTED,
    "multiclass": {"dataset": "multiblobs", "n_classes": 5, "hidden": [6], "epochs": 2,
                   "n_samples": 60, "runs": [{"name": "SGD", "batch_size": 1, "update": "adam"}]},
    "regression": {"dataset": "sine", "hidden": [8, 8], "epochs": 3, "n_samples": 50,
                   "runs": [{"name": "M", "batch_size": 5, "update": "momentum"}]},
    "diverging": {"dataset": "linear", "lr": 10, "epochs": 5,
                  "runs": [{"name": "SGD", "batch_size": 1}, {"name": "F", "batch_size": None}]},
    "nan residuals": {"dataset": "multiblobs", "hidden": [16], "activation": "linear", "lr": 10,
                      "epochs": 5, "runs": [{"name": "SGD", "batch_size": 1}]},
    "early stop": {"dataset": "moons", "epochs": 50, "target_loss": 0.5, "patience": 2,
                   "runs": [{"name": "B", "batch_size": 10}]},
    # The largest export the default caps allow: 3,000,000 numbers (~60 MB), the widest model.
    "at the caps": {"dataset": "multiblobs", "n_classes": 5, "n_samples": 100,
                    "hidden": [16, 16, 16, 16], "epochs": 31,
                    "runs": [{"name": "SGD", "batch_size": 1}]},
}


@pytest.mark.parametrize("config", ROUND_TRIPS.values(), ids=ROUND_TRIPS.keys())
def test_every_export_loads_back(http, config):
    """Export -> Load: whatever the app saves, the page may replay."""
    r = export(http, "json", config)
    assert r.status_code == 200, r.text
    content = r.content
    assert len(content) < MAX_UPLOAD_BYTES
    check = http.post("/api/export/check", content=content)
    assert check.json() == {"ok": True}, check.text
    cut = export(http, "json", config, {config["runs"][0]["name"]: 1})
    assert http.post("/api/export/check", content=cut.content).json() == {"ok": True}
