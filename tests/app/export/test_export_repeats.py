"""Exports of repeated runs: JSON (every repeat, loaded back), CSV (a `repeat` column) and the
HTML report (bands, the spread of the final loss), through the real app."""

from __future__ import annotations

import copy
import csv
import io
import json

import pytest
from fastapi.testclient import TestClient

from app.core.settings import Settings
from app.export.validate import load_export
from app.main import create_app

CONFIG = {"dataset": "linear", "n_samples": 24, "epochs": 2, "seed": 4, "repeats": 3,
          "runs": [{"name": "SGD", "batch_size": 1}, {"name": "Full batch", "batch_size": None}]}


@pytest.fixture(scope="module")
def http():
    with TestClient(create_app(Settings())) as client:
        yield client


def by_repeat(points: list[dict]) -> list[list[dict]]:
    out: list[list[dict]] = [[], [], []]
    for p in points:
        out[p["repeat"]].append(p)
    return out


def test_json_holds_every_repeat_in_order_and_loads_back(http):
    r = http.post("/api/export/json", json={"config": CONFIG})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["config"]["repeats"] == 3
    for name, total in (("SGD", 48), ("Full batch", 2)):
        points = data["runs"][name]
        assert [p["repeat"] for p in points] == [0] * total + [1] * total + [2] * total
        for pts in by_repeat(points):
            assert [p["iteration"] for p in pts] == list(range(1, total + 1))
        done = data["done"]["runs"][name]
        assert [o["loss"] for o in done["repeats"]] == [pts[-1]["loss"] for pts in by_repeat(points)]
        assert done["loss_min"] <= done["loss_median"] <= done["loss_max"]
    assert http.post("/api/export/check", content=r.content).json() == {"ok": True}
    # a cut is each repeat's first iterations, bit for bit
    cut = http.post("/api/export/json", json={"config": CONFIG, "iterations": {"SGD": 5}}).json()
    assert [len(pts) for pts in by_repeat(cut["runs"]["SGD"])] == [5, 5, 5]
    for part, whole in zip(by_repeat(cut["runs"]["SGD"]), by_repeat(data["runs"]["SGD"]),
                           strict=True):
        assert part == whole[:5]
    assert http.post("/api/export/check", content=json.dumps(cut)).json() == {"ok": True}


def test_a_file_whose_repeats_do_not_hold_together_is_refused(http):
    data = http.post("/api/export/json", json={"config": CONFIG}).json()
    missing = copy.deepcopy(data)
    del missing["runs"]["SGD"][3]["repeat"]
    with pytest.raises(ValueError, match=r"runs\.SGD\.3\.repeat must be an integer in \[0, 2\]"):
        load_export(missing)
    shuffled = copy.deepcopy(data)
    pts = shuffled["runs"]["SGD"]
    pts[50], pts[51] = pts[51], pts[50]  # repeat 1's iterations 3 and 4 swapped
    with pytest.raises(ValueError, match=r"runs\.SGD\.50\.iteration must be 3 of repeat 1"):
        load_export(shuffled)
    single = http.post("/api/export/json", json={"config": {**CONFIG, "repeats": 1}}).json()
    single["runs"]["SGD"][0]["repeat"] = 0
    with pytest.raises(ValueError, match=r"runs\.SGD\.0\.repeat must be absent"):
        load_export(single)


def test_csv_has_a_repeat_column_only_with_repeats(http):
    text = http.post("/api/export/csv", json={"config": CONFIG}).text.removeprefix("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0])[:3] == ["run", "repeat", "iteration"]
    data = http.post("/api/export/json", json={"config": CONFIG}).json()
    points = [(name, p) for name, pts in data["runs"].items() for p in pts]
    assert len(rows) == len(points) == 3 * (48 + 2)
    for row, (name, p) in zip(rows, points, strict=True):
        assert (row["run"], int(row["repeat"]), int(row["iteration"])) == (
            name, p["repeat"], p["iteration"])
        assert float(row["loss"]) == p["loss"]
    one = http.post("/api/export/csv", json={"config": {**CONFIG, "repeats": 1}}).text
    assert "repeat" not in one.splitlines()[0]


@pytest.mark.parametrize(("lang", "words"), [("en", ("Repeats", "final loss: median", "min–max")),
                                              ("ko", ("반복 실행", "최종 손실: 중앙값", "최소–최대"))])
def test_the_report_draws_bands_and_gives_the_spread(http, lang, words):
    page = http.post("/api/export/html", json={"config": CONFIG, "lang": lang}).text
    for word in words:
        assert word in page or json.dumps(word)[1:-1] in page, word
    data = http.post("/api/export/json", json={"config": CONFIG}).json()
    median = data["done"]["runs"]["SGD"]["loss_median"]
    assert f"{median:.3g}"[:5] in page
    assert page.count('"fill":"toself"') == 2  # one band per run
