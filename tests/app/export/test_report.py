"""The HTML report a teacher hands out: the page's language and labels (read from i18n.js), the
date, the config, each run's final model in the data view and its last step opened up; and the
details a replayed file asks for (`POST /api/runs/detail`)."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.core.colors import RUN_COLORS
from app.core.schemas import TrainConfig
from app.core.settings import Settings
from app.export.compute import compute_report
from app.export.formats import CSV_COLUMNS
from app.export.labels import I18N_JS, Labels, page_labels, parse_i18n
from app.export.report import REPORT_WORDS, data_figure, fmt, to_html
from app.live.race import Race
from app.main import create_app

# An MLP on two moons (a decision boundary per run), the default run names (translated on the
# page), one run cut before its first iteration.
MOONS = {"dataset": "moons", "hidden": [3], "n_samples": 30, "epochs": 2, "seed": 2,
         "runs": [{"name": "SGD", "batch_size": 1}, {"name": "Mini-batch", "batch_size": 8},
                  {"name": "Full batch", "batch_size": None}]}
CUT = {"SGD": 37, "Mini-batch": 0}
LINEAR = {"dataset": "linear", "n_samples": 40, "epochs": 3, "seed": 5,
          "runs": [{"name": "SGD", "batch_size": 1}, {"name": "Full batch", "batch_size": None,
                                                      "lr": 0.5, "update": "momentum"}]}
MULTI = {"dataset": "multiblobs", "n_classes": 4, "hidden": [5], "n_samples": 40, "epochs": 2,
         "target_loss": 0.01, "patience": 3,
         "runs": [{"name": "A", "batch_size": 4, "update": "adam", "lr": 0.05}]}
PLOTLY_JS = 1_000_000  # a script longer than this is plotly.js itself (4.6 MB), not our figures


@pytest.fixture(scope="module")
def http():
    with TestClient(create_app(Settings())) as client:
        yield client


def report(http, lang: str, config: dict = MOONS, iterations: dict | None = None) -> str:
    body = {"config": config, "lang": lang}
    if iterations is not None:
        body["iterations"] = iterations
    r = http.post("/api/export/html", json=body)
    assert r.status_code == 200, r.text
    return r.text


def ours(page: str) -> str:
    """The report without plotly.js: our HTML and the figures' JSON."""
    return re.sub(r"<script[^>]*>(.*?)</script>",
                  lambda m: "" if len(m.group(1)) > PLOTLY_JS else m.group(0), page, flags=re.S)


def visible(page: str) -> str:
    """The report's HTML without any script."""
    return re.sub(r"<script[^>]*>.*?</script>", "", page, flags=re.S)


def section(page: str, name: str) -> str:
    match = re.search(rf'<section id="{name}">(.*?)</section>', page, flags=re.S)
    assert match, name
    return match.group(1)


def step_card(page: str, run: str) -> str:
    match = re.search(rf'<article class="step" data-run="{re.escape(run)}">(.*?)</article>',
                      page, flags=re.S)
    assert match, run
    return match.group(1)


# --- language and labels --------------------------------------------------------------------------

def test_a_korean_report_uses_the_pages_korean_labels_and_no_raw_keys(http):
    page = report(http, "ko", MOONS, CUT)
    assert page.startswith('<!DOCTYPE html>\n<html lang="ko">')
    ko, text = page_labels()["ko"], visible(page)
    for key in ("ctl.dataset", "ctl.samples", "ctl.noise", "ctl.hidden", "ctl.activation",
                "ctl.loss", "ctl.lr", "ctl.batch", "ctl.epochs", "ctl.seed", "ctl.target",
                "ctl.patience", "ctl.none_ph", "ctl.pacing", "pacing.iterations", "ds.moons",
                "run.Mini-batch", "run.Full batch", "status.completed", "status.stopped",
                "step.forward", "step.loss", "step.backward", "step.update", "step.full",
                "step.grad_batch", "step.grad_full", "step.rule.sgd"):
        assert html.escape(ko[key]) in text, key
    assert "<title>Descent Playground: 두 반달 · 시드 2</title>" in page
    figures = ours(page)
    # a network's surface marks its lowest point only inside the slice (here: on its edge, none)
    for key in ("surface.start", "loss.x.epochs", "data.class"):
        word = ko[key].replace("{k}", "0")
        assert word in figures or word.encode("unicode_escape").decode() in figures, key
    # the config's keys and the English labels appear nowhere, plots included
    for raw in ("n_samples", "target_loss", "batch_size", "n_classes", "patience", "Samples",
                "Learning rate", "Mini-batch size", "Target loss", "Loss surface",
                "full-data loss", "epochs", "iteration"):
        assert raw not in figures, raw
    assert "Mini-batch" not in text  # the run's name, as the Korean page shows it


def test_an_english_report_uses_the_pages_english_labels(http):
    page = visible(report(http, "en", MULTI))
    assert '<html lang="en">' in page
    for label, value in (("Dataset", "k blobs"), ("Samples", "40"), ("Classes", "4"),
                         ("Hidden layers", "5"), ("Loss", "sparse_categorical_crossentropy"),
                         ("Learning rate", "0.2"), ("Target loss", "0.01"), ("Patience", "3"),
                         ("Speed", "30 it/s"), ("Pacing", "equal iterations")):
        assert f"<tr><th>{label}</th><td>{value}</td></tr>" in page, label
    for head in ("Run", "Mini-batch size", "Learning rate", "Update rule", "Iteration", "Loss"):
        assert f"<th>{head}</th>" in page, head
    assert "<td>Adam</td>" in page and "<td>0.05</td>" in page  # the run's own rule and rate
    assert "n_samples" not in page and "target_loss" not in page


def test_the_report_words_every_label_it_uses_in_both_languages(http):
    """A label the report asks for and no dictionary has would show as its key, e.g.
    `ctl.samples`: never, in either language, for any kind of model."""
    assert set(REPORT_WORDS["en"]) == set(REPORT_WORDS["ko"])
    prefixes = "|".join(["ctl", "step", "surface", "loss", "data", "report", "cnt", "status",
                         "run", "ds", "act", "pacing", "axis", "update"])
    key = re.compile(rf"\b(?:{prefixes})\.[a-z_]+\b")
    for lang in ("en", "ko"):
        for config in (MOONS, LINEAR, MULTI):
            page = ours(report(http, lang, config))
            assert key.findall(page) == [], (lang, config["dataset"])


KINDS = {
    "diverging": ({"dataset": "linear", "lr": 10, "epochs": 5,
                   "runs": [{"name": "SGD", "batch_size": 1}, {"name": "F", "batch_size": None}]},
                  "diverged"),
    "early stop": ({"dataset": "moons", "epochs": 50, "target_loss": 0.5, "patience": 2,
                    "runs": [{"name": "B", "batch_size": 10}]}, "target_reached"),
    "regression MLP": ({"dataset": "sine", "hidden": [8, 8], "epochs": 3, "n_samples": 50,
                        "runs": [{"name": "M", "batch_size": 5, "update": "momentum"}]},
                       "completed"),
}


@pytest.mark.parametrize("config, status", KINDS.values(), ids=KINDS.keys())
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_every_kind_of_run_makes_a_whole_report(http, config, status, lang):
    page = report(http, lang, config)
    t = Labels(lang, REPORT_WORDS)
    assert f"<td>{html.escape(t(f'status.{status}'))}</td>" in page
    for name in ("settings", "plots", "data-view"):
        section(page, name)
    steps = section(page, "step-panel")
    for run in config["runs"]:
        assert all(html.escape(t(f"step.{k}")) in step_card(steps, run["name"])
                   for k in ("forward", "loss", "backward", "update"))


# --- the date -----------------------------------------------------------------------------------

STAMP = re.compile(r'<time datetime="(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)">'
                   r"(\d{4}-\d\d-\d\d \d\d:\d\d) UTC</time>")


@pytest.mark.parametrize("lang, words", [("en", "Exported"), ("ko", "내보낸 시각")])
def test_the_report_states_when_it_was_exported_in_utc(http, lang, words):
    before = datetime.now(UTC).replace(microsecond=0)
    page = report(http, lang, LINEAR)
    after = datetime.now(UTC)
    match = STAMP.search(page)
    assert match and f"{words}: <time" in page
    when = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before <= when <= after
    assert match.group(2) == f"{when:%Y-%m-%d %H:%M}"


def test_the_date_is_written_in_utc_whatever_the_clock_it_is_given():
    result = compute_report(TrainConfig.model_validate(LINEAR), {"SGD": 2, "Full batch": 1})
    seoul = datetime(2025, 3, 4, 14, 6, 30, tzinfo=timezone(timedelta(hours=9)))
    page = to_html(result, "ko", now=seoul)
    assert '<time datetime="2025-03-04T05:06:30Z">2025-03-04 05:06 UTC</time>' in page


# --- the step panel at each run's last iteration ------------------------------------------------

@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_step_panel_opens_up_each_runs_last_iteration_with_its_numbers(http, lang):
    data = http.post("/api/export/json", json={"config": MOONS, "iterations": CUT}).json()
    page = report(http, lang, MOONS, CUT)
    t = Labels(lang, REPORT_WORDS)
    steps = section(page, "step-panel")
    names = data["started"]["model"]["param_names"]
    for name in ("SGD", "Full batch"):
        points = data["runs"][name]
        last, before = points[-1], points[-2]
        card = step_card(steps, name)
        sub = t("step.sub", run=t.value("run.", name), i=f"{last['iteration']:,}",
                e=last["epoch"])
        assert html.escape(sub) in card
        assert all(html.escape(t(f"step.{k}")) in card
                   for k in ("forward", "loss", "backward", "update"))
        assert f"L_B = {fmt(last['batch_loss'])}" in card
        assert f"L = {fmt(last['loss'])}" in card
        lr = data["started"]["runs"][[r["name"] for r in data["started"]["runs"]].index(name)]
        for j in range(3):  # update: before − lr × gradient = after, as the file holds them
            line = re.search(rf"{re.escape(names[j])} = (\S+) − (\S+) × \S+ = (\S+)</div>", card)
            assert line, (name, j)
            assert line.groups() == (fmt(before["params"][j], 3), fmt(lr["lr"], 3),
                                     fmt(last["params"][j], 3))
        assert card.count("→ ŷ =") == min(2, last["batch_size"])  # forward: the batch's samples
    # a run cut before its first iteration has no step to open up
    assert html.escape(t("report.no_step")) in steps
    assert 'data-run="Mini-batch"' not in steps


def test_a_line_models_step_writes_the_sum_out_with_the_files_numbers(http):
    data = http.post("/api/export/json", json={"config": LINEAR}).json()
    card = step_card(section(report(http, "en", LINEAR), "step-panel"), "Full batch")
    prev, last = data["runs"]["Full batch"][-2:]
    assert "ŷ = w·x + b" in card
    w, b = prev["params"]
    assert re.search(rf"{re.escape(fmt(w, 3))} × \S+ \+ \S+ = \S+   \(t = ", card)
    assert "momentum: v = 0.9·v" in card  # this run's own update rule
    assert f"w: {fmt(w, 3)} → {fmt(last['params'][0], 3)}" in card
    assert f"b: {fmt(b, 3)} → {fmt(last['params'][1], 3)}" in card


# --- the data view: each run's final model ------------------------------------------------------

def test_the_data_view_draws_each_runs_final_model(http):
    page = report(http, "en", MOONS, CUT)
    view = section(page, "data-view")
    assert 'id="data-figure"' in view and re.search(r'Plotly\.newPlot\(\s*"data-figure"', view)
    config = TrainConfig.model_validate(MOONS)
    result = compute_report(config, CUT)
    fig = data_figure(result, Labels("en", REPORT_WORDS))
    fresh = Race(config, generation=1)  # the final params, as the file holds them, predicted anew
    for i, run in enumerate(result["started"]["runs"]):
        points = result["runs"][run["name"]]
        final = points[-1]["params"] if points else fresh.model.get_params()
        expected = fresh.prediction(np.array(final, dtype=float))
        boundary = [tr for tr in fig.data if tr.type == "contour"
                    and tr.line.color == RUN_COLORS[run["color"]]]
        assert len(boundary) == 1, run["name"]
        assert np.array_equal(np.array(boundary[0].z), np.array(expected["z"]))
        title = fig.layout.annotations[i].text
        assert title == f"{run['name']} · model at iteration {len(points)}"


def test_a_regression_data_view_draws_every_runs_final_line(http):
    config = TrainConfig.model_validate(LINEAR)
    result = compute_report(config, {"SGD": 50})
    fig = data_figure(result, Labels("ko", REPORT_WORDS))
    fresh = Race(config, generation=1)
    lines = [tr for tr in fig.data if tr.mode == "lines"]
    assert len(lines) == 2
    for line, run in zip(lines, result["started"]["runs"], strict=True):
        expected = fresh.prediction(np.array(result["runs"][run["name"]][-1]["params"]))
        assert line.line.color == RUN_COLORS[run["color"]]
        assert list(line.y) == expected["y"]
    assert lines[0].name == "SGD · 이터레이션 50의 모델"


# --- CSV and JSON: data, the same in every language -----------------------------------------------

def test_csv_and_json_are_the_same_in_every_language_with_a_neutral_header(http):
    for kind in ("csv", "json"):
        en, ko = (http.post(f"/api/export/{kind}", json={"config": MOONS, "lang": lang}).content
                  for lang in ("en", "ko"))
        assert en == ko, kind
        if kind == "csv":
            header = next(csv.reader(io.StringIO(ko.decode().removeprefix("\ufeff"))))
            assert tuple(header[:len(CSV_COLUMNS)]) == CSV_COLUMNS


def test_an_unknown_language_is_refused_naming_the_field(http):
    r = http.post("/api/export/html", json={"config": MOONS, "lang": "fr"})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("lang")


# --- the labels: one source, i18n.js ------------------------------------------------------------

def test_the_labels_are_every_entry_of_i18n_js():
    labels = page_labels()
    assert set(labels["en"]) == set(labels["ko"])
    text = I18N_JS.read_text(encoding="utf-8")
    entries = re.findall(r'^\s+"[^"]+":\s*"', text, flags=re.M)
    assert len(labels["en"]) + len(labels["ko"]) == len(entries)
    assert labels["en"]["ctl.samples"] == "Samples" and labels["ko"]["ctl.samples"] == "데이터 크기"


def test_a_line_of_i18n_js_the_reader_does_not_understand_is_an_error():
    good = 'export const en = {\n  "a.b": "x \\"y\\"",\n};\nexport const ko = {\n  "a.b": "z",\n};\n'
    assert parse_i18n(good) == {"en": {"a.b": 'x "y"'}, "ko": {"a.b": "z"}}
    with pytest.raises(ValueError, match="line 3"):
        parse_i18n(good.replace('"x \\"y\\"",\n', '"x",\n  "c.d": `template`,\n'))
    with pytest.raises(ValueError, match="no dictionary for ko"):
        parse_i18n(good.split("export const ko")[0])


def test_a_label_missing_in_korean_falls_back_to_english_then_to_its_key():
    t = Labels("ko", {"en": {"only.en": "English {n}"}})
    assert t("only.en", n=3) == "English 3"
    assert t("no.such.key") == "no.such.key"
    assert t.value("ds.", "moons") == "두 반달" and t.value("run.", "My run") == "My run"


# --- a replay's details: one iteration recomputed ------------------------------------------------

def test_a_detail_opens_up_the_iteration_the_file_holds(http):
    data = http.post("/api/export/json", json={"config": MOONS}).json()
    points = data["runs"]["SGD"]
    for k in (1, 17, len(points)):
        r = http.post("/api/runs/detail", json={"config": MOONS, "run": "SGD", "iteration": k})
        assert r.status_code == 200, r.text
        d = r.json()
        assert (d["type"], d["run"], d["iteration"]) == ("detail", "SGD", k)
        p = points[k - 1]
        assert d["params"] == p["params"]
        assert (d["loss"], d["batch_loss"], d["epoch"]) == (p["loss"], p["batch_loss"], p["epoch"])
        if k > 1:
            assert d["params_before"] == points[k - 2]["params"]
        assert d["prediction"]["kind"] == "grid" and len(d["forward"]["x"]) == 1


def test_a_detail_past_a_runs_end_is_its_last_iteration(http):
    r = http.post("/api/runs/detail", json={"config": MOONS, "run": "Full batch",
                                            "iteration": 999})
    assert r.status_code == 200
    assert r.json()["iteration"] == 2  # 2 epochs of one full batch


@pytest.mark.parametrize("body, words", [
    ({"config": MOONS, "run": "Nobody", "iteration": 3},
     "run 'Nobody' is not one of the config's runs: SGD, Mini-batch, Full batch"),
    ({"config": MOONS, "run": "SGD", "iteration": 0}, "iteration"),
    ({"config": MOONS, "run": "SGD"}, "iteration: Field required"),
    ({"config": {"lr": 0}, "run": "SGD", "iteration": 1}, "config.lr"),
    ({"config": MOONS, "run": "SGD", "iteration": 1, "extra": 1}, "extra"),
    ([1], "must be a JSON object"),
    ({"config": {"n_samples": 5000, "epochs": 1000, "runs": [{"name": "S", "batch_size": 1}]},
      "run": "S", "iteration": 300_000}, "(DESCENT_MAX_HEADLESS_ITERATIONS)"),
])
def test_a_bad_detail_request_is_refused_naming_the_problem(http, body, words):
    r = http.post("/api/runs/detail", json=body)
    assert r.status_code == 422
    assert words in r.json()["detail"]


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_report_names_the_minimum_as_the_page_does(http, lang):
    """w·x + b under MSE: the least-squares minimum, called what the page calls it."""
    word = page_labels()[lang]["surface.minimum"]
    figures = ours(report(http, lang, LINEAR))
    assert word in figures or word.encode("unicode_escape").decode() in figures
