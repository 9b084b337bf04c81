"""Loading a saved run ("Load a saved run…"): the data view draws the model of the iteration on
screen and the step panel opens that iteration up with its real numbers (a file holds no step
details: the server recomputes them); a file that is not a saved run gets one plain sentence in
the page's language, never a parser's message."""

from __future__ import annotations

import json
import urllib.request

import numpy as np
import pytest
from conftest import start_live_server

from app.core.colors import RUN_COLORS
from app.core.schemas import TrainConfig
from app.export.labels import page_labels
from app.export.report import fmt
from app.live.race import Race

pytestmark = pytest.mark.e2e

# Two moons through a hidden layer: no line w·x + b, so every model drawn comes from the server.
CONFIG = {"dataset": "moons", "hidden": [3], "n_samples": 30, "epochs": 3, "seed": 2,
          "runs": [{"name": "SGD", "batch_size": 1}, {"name": "Mini-batch", "batch_size": 8},
                   {"name": "Full batch", "batch_size": None}]}
PRIMED = ("() => { const s = window.__dp.state; return s.generation !== null && s.runs.length > 0"
          " && window.__dp.plots.surface.data?.length > 0; }")
REPLAYED = "() => window.__dp.state.replay && document.body.dataset.status === 'done'"
# The data view's model layer (under the points, for classification): its boundary contour.
BOUNDARY = """() => { const c = (window.__dp.plots.data.data || []).find(t => t.type === 'contour');
  return c ? {color: c.line.color, z: c.z} : null; }"""


def saved(base: str) -> bytes:
    request = urllib.request.Request(base + "/api/export/json", method="POST",
                                     data=json.dumps({"config": CONFIG}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read()


def scrub(page, k: int) -> None:
    page.evaluate("(k) => { const r = document.getElementById('tl-range'); r.value = String(k);"
                  " r.dispatchEvent(new Event('input', {bubbles: true})); }", k)


def shows_iteration(page, k: int) -> None:
    """Wait until the step panel has opened iteration k up (all four phases) and the data view
    has drawn the model of iteration k."""
    page.wait_for_function(
        """(k) => document.getElementById('step-sub').textContent.includes(`iteration ${k} ·`)
          && document.querySelectorAll('#step-body .phase').length === 4
          && document.getElementById('data-at').textContent === `model at iteration ${k}`""",
        arg=k, timeout=20_000)


def test_a_loaded_file_draws_the_model_and_opens_up_the_scrubbed_iteration(
        live_server, page, tmp_path, screenshot_dir):
    raw = saved(live_server)
    data = json.loads(raw)
    path = tmp_path / "saved.json"
    path.write_bytes(raw)
    race = Race(TrainConfig.model_validate(CONFIG), generation=1)  # predicts a point's model anew
    sgd = data["runs"]["SGD"]

    page.goto(live_server + "/?lang=en")
    page.wait_for_function(PRIMED, timeout=20_000)
    page.set_input_files("#load-file", str(path))
    page.wait_for_function(REPLAYED, timeout=20_000)
    page.select_option("#inspect-run", "SGD")

    for k in (len(sgd), 20, 1):  # the end of the file, then back along the timeline
        if k != len(sgd):
            scrub(page, k)
        shows_iteration(page, k)
        p, before = sgd[k - 1], sgd[k - 2]["params"] if k > 1 else None
        body = page.inner_text("#step-body")
        for words in ("forward", "loss", "backward", "update", "→ ŷ =", "batch gradient",
                      f"L_B = {fmt(p['batch_loss'])}", f"L = {fmt(p['loss'])}"):
            assert words in body, (k, words)
        # the update of the first weight, with the file's numbers before and after it
        first = f"W1[0,0] = {fmt(before[0], 3)} − 0.200 × " if before else "W1[0,0] = "
        assert first in body and f" = {fmt(p['params'][0], 3)}" in body, (k, body)
        # the data view: the decision boundary of iteration k's weights, in SGD's colour
        page.wait_for_function(f"() => ({BOUNDARY})()?.color === '{RUN_COLORS[0]}'")
        expected = race.prediction(np.array(p["params"]))["z"]
        page.wait_for_function(f"(z) => JSON.stringify(({BOUNDARY})().z) === JSON.stringify(z)",
                               arg=expected, timeout=10_000)
        if k == 20:
            page.screenshot(path=screenshot_dir / "replay-step-and-model.png")
    assert page.console_errors == []


def test_a_loaded_file_opens_up_the_korean_page_in_korean(live_server, page, tmp_path):
    path = tmp_path / "saved.json"
    path.write_bytes(saved(live_server))
    ko = page_labels()["ko"]
    page.goto(live_server + "/?lang=ko")
    page.wait_for_function(PRIMED, timeout=20_000)
    page.set_input_files("#load-file", str(path))
    page.wait_for_function(REPLAYED, timeout=20_000)
    page.select_option("#inspect-run", "Full batch")
    # opened up: the stored point shows two phases at once, the server's detail all four
    page.wait_for_function("""() => document.getElementById('step-sub').textContent
      .includes('이터레이션 3 ·') && document.querySelectorAll('#step-body .phase').length === 4
      && document.getElementById('data-at').textContent === '이터레이션 3의 모델'""",
                           timeout=20_000)
    body = page.inner_text("#step-body")
    for key in ("step.forward", "step.loss", "step.backward", "step.update", "step.grad_batch"):
        assert ko[key] in body, key
    assert page.console_errors == []


@pytest.fixture(scope="module")
def small_uploads():
    """A server that takes files of at most 1 MB."""
    with start_live_server(env={"DESCENT_MAX_UPLOAD_MB": "1"}, name="small_uploads") as base:
        yield base


BAD_FILES = {
    "not JSON": b"run,iteration,loss\nSGD,1,0.5\n",
    "JSON of another shape": b'{"format": "descent-playground/1", "runs": 3}',
    "a JSON list": b"[1, 2, 3]",
    "too large": b'{"format": "descent-playground/1", "pad": "' + b"x" * 1_200_000 + b'"}',
}


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_bad_file_gets_one_plain_sentence_in_the_pages_language(small_uploads, page, lang):
    labels = page_labels()[lang]
    checks: list[str] = []
    page.on("request", lambda r: checks.append(r.url) if r.url.endswith("/export/check") else None)
    page.goto(small_uploads + f"/?lang={lang}")
    page.wait_for_function(PRIMED, timeout=20_000)
    for name, content in BAD_FILES.items():
        page.set_input_files("#load-file", {"name": "lesson.json", "mimeType": "application/json",
                                            "buffer": content})
        page.wait_for_selector("#notice", state="visible")
        expected = (labels["files.too_big"].replace("{mb}", "1") if name == "too large"
                    else labels["files.bad"])
        assert page.inner_text("#notice-text") == expected, name
        assert not page.evaluate("() => window.__dp.state.replay")
        page.click("#notice-close")
        page.wait_for_selector("#notice", state="hidden")
    assert len(checks) == 3  # the file too large is refused before it is sent
    # Chromium logs each deliberate 422 as a failed resource; nothing else may show
    assert [e for e in page.console_errors if "status of 422" not in e] == []
