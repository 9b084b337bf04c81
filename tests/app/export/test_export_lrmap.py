"""The learning-rate map in exports: the JSON file carries it and loads back with it, the file
check names what is wrong with it, the HTML report tables it (EN and KO), the CSV stays per point."""

from __future__ import annotations

import copy
import json
import re

import pytest
from fastapi.testclient import TestClient

from app.core.settings import Settings
from app.export.validate import load_export
from app.main import create_app

CONFIG = {"n_samples": 40, "epochs": 30, "seed": 5,
          "runs": [{"name": "SGD", "batch_size": 1}, {"name": "Full batch", "batch_size": None}]}
LRS, BATCHES = [0.01, 0.5, 8.0], [1, None]


@pytest.fixture(scope="module")
def http():
    with TestClient(create_app(Settings())) as client:
        yield client


@pytest.fixture(scope="module")
def lr_map(http):
    """The map of CONFIG as the server computes it (the socket's `sweep_result` body)."""
    r = http.post("/api/sweep", json={"config": CONFIG, "lrs": LRS, "batch_sizes": BATCHES})
    assert r.status_code == 200
    body = r.json()
    assert body["cells"][2][1]["status"] == "diverged" and body["lr_limit"] is not None
    return body


def export(http, fmt: str, lr_map: dict | None, lang: str = "en"):
    body = {"config": CONFIG, "lang": lang}
    if lr_map is not None:
        body["lr_map"] = lr_map
    return http.post(f"/api/export/{fmt}", json=body)


def test_the_json_file_carries_the_map_and_loads_back_with_it(http, lr_map):
    r = export(http, "json", lr_map)
    assert r.status_code == 200
    data = r.json()
    assert data["lr_map"] == lr_map
    assert load_export(data).lr_map.model_dump() == lr_map
    assert http.post("/api/export/check", content=r.content).json() == {"ok": True}
    without = export(http, "json", None).json()
    assert "lr_map" not in without  # no map computed: no field
    assert {k: v for k, v in data.items() if k != "lr_map"} == without


def test_the_csv_stays_one_row_per_point(http, lr_map):
    assert export(http, "csv", lr_map).text == export(http, "csv", None).text


def _row(d):
    d["lr_map"]["cells"].pop()


def _cell(d):
    d["lr_map"]["cells"][1].pop()


@pytest.mark.parametrize("change, words", [
    (_row, "lr_map.cells must hold one row per lr_map.lrs value (3), got 2"),
    (_cell, "lr_map.cells.1 must hold one cell per lr_map.batch_sizes value (2), got 1"),
    (lambda d: d["lr_map"]["lrs"].__setitem__(0, 11), "lr_map.lrs.0 must be a number in (0, 10]"),
    (lambda d: d["lr_map"]["lrs"].__setitem__(0, "a"), "lr_map.lrs.0"),
    (lambda d: d["lr_map"].update(batch_sizes=[0, None]), "lr_map.batch_sizes.0"),
    (lambda d: d["lr_map"]["cells"][0][0].update(status="running"),
     "lr_map.cells.0.0.status"),
    (lambda d: d["lr_map"]["cells"][0][0].update(loss="low"), "lr_map.cells.0.0.loss"),
    (lambda d: d["lr_map"].update(colour=1), "lr_map.colour is not a known field"),
    (lambda d: d["lr_map"].pop("lr_limit"), "lr_map.lr_limit: Field required"),
])
def test_a_bad_map_in_a_file_is_one_sentence_naming_the_field(http, lr_map, change, words):
    bad = copy.deepcopy(export(http, "json", lr_map).json())
    change(bad)
    with pytest.raises(ValueError) as info:
        load_export(bad)
    assert words in str(info.value)
    r = http.post("/api/export/check", content=json.dumps(bad))
    assert r.status_code == 422 and words in r.json()["detail"]
    assert "\n" not in r.json()["detail"]


def test_an_export_request_with_a_bad_map_is_refused_naming_it(http, lr_map):
    bad = copy.deepcopy(lr_map)
    bad["cells"].pop()
    r = export(http, "json", bad)
    assert r.status_code == 422
    assert "lr_map.cells must hold one row per lr_map.lrs value" in r.text


@pytest.mark.parametrize("lang, title, diverged, full", [
    ("en", "Learning-rate map", "diverged", "Full batch"),
    ("ko", "학습률 지도", "발산", "전체 배치"),
])
def test_the_report_tables_the_map_with_diverged_in_words(http, lr_map, lang, title, diverged,
                                                          full):
    html = export(http, "html", lr_map, lang).text
    section = re.search(r'<section id="lr-map">(.*?)</section>', html, re.S).group(1)
    assert f"<h2>{title}</h2>" in section
    rows = re.findall(r"<tr>(.*?)</tr>", section, re.S)
    assert len(rows) == 1 + len(LRS)
    heads = re.findall(r"<th[^>]*>(.*?)</th>", rows[0])
    assert heads[1:] == ["1", full]
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in rows[1:]]
    for i, row in enumerate(cells):
        for j, text in enumerate(row):
            cell = lr_map["cells"][i][j]
            if cell["status"] == "diverged":
                assert text == diverged  # in words, not by colour
            else:
                assert float(text.replace("\u2212", "-")) == pytest.approx(cell["loss"], rel=1e-3)
    assert "2/λ_max = " in section
    assert "lr-map" not in export(http, "html", None, lang).text  # no map: no section
