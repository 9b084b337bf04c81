"""The HTML report, saved to a file and opened in Chromium with every network request blocked,
draws its plots: plotly.js must be inside the file (a teacher opens it later, maybe offline).
It speaks the page's language, with the very labels the page's i18n.js holds."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.core.colors import RUN_COLORS
from app.core.settings import Settings
from app.export.labels import page_labels
from app.main import create_app

pytestmark = pytest.mark.e2e

# A projected surface (an MLP), three runs: contour, paths, loss curves, each run's decision
# boundary in the data view and its last step opened up.
CONFIG = {"dataset": "moons", "hidden": [3], "n_samples": 30, "epochs": 2, "seed": 2,
          "runs": [{"name": "SGD", "batch_size": 1}, {"name": "미니 배치", "batch_size": 8},
                   {"name": "Full batch", "batch_size": None}]}

DRAWN = """(id) => {
  const div = document.getElementById(id);
  if (!div || !div.querySelector('.main-svg')) return null;
  const text = [...div.querySelectorAll('text')].map(t => t.textContent).join('|');
  return {svgs: div.querySelectorAll('.main-svg').length,
          traces: div.data.length,
          types: div.data.map(t => t.type || 'scatter'),
          boundaries: div.data.filter(t => t.type === 'contour').map(t => t.line && t.line.color),
          contours: div.querySelectorAll('.contourlayer .contour').length,
          lines: [...div.querySelectorAll('.scatterlayer .trace path.js-line')]
                   .filter(p => (p.getAttribute('d') || '').length > 10).length,
          text};
}"""


def open_offline(browser, html: str, tmp_path, screenshot_dir, name: str):
    """`html` saved as a file and opened with every other request blocked: (page, context)."""
    report = tmp_path / f"{name}.html"
    report.write_text(html, encoding="utf-8")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    blocked: list[str] = []

    def block(route) -> None:
        if route.request.url == report.as_uri():  # the file itself: nothing else
            route.continue_()
            return
        blocked.append(route.request.url)
        route.abort()

    context.route("**/*", block)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    page.on("requestfailed", lambda req: errors.append(f"request failed: {req.url}"))
    page.goto(report.as_uri(), wait_until="load")
    drawn = {}
    try:
        for div in ("plots-figure", "data-figure"):
            try:
                page.wait_for_function(DRAWN, arg=div, timeout=20_000)
            except Exception as exc:
                raise AssertionError(f"{div} not drawn; blocked {blocked}, errors {errors}") \
                    from exc
            drawn[div] = page.evaluate(DRAWN, div)
        page.screenshot(path=screenshot_dir / f"{name}.png", full_page=True)
        steps = page.inner_text("#step-panel")
        settings = page.inner_text("#settings")
    finally:
        context.close()
    assert blocked == [] and errors == []
    return drawn, steps, settings


def export_html(lang: str) -> str:
    with TestClient(create_app(Settings())) as http:
        response = http.post("/api/export/html", json={"config": CONFIG, "lang": lang})
    assert response.status_code == 200
    return response.text


def test_the_report_draws_its_plots_with_the_network_blocked(browser, tmp_path, screenshot_dir):
    drawn, steps, settings = open_offline(browser, export_html("en"), tmp_path, screenshot_dir,
                                          "report-offline")
    plots, data = drawn["plots-figure"], drawn["data-figure"]
    assert plots["svgs"] >= 1
    assert plots["contours"] >= 1  # the loss surface
    # each run's path on the surface and its two loss curves (batch and full data)
    assert plots["lines"] >= 3 + 3 * 2, plots
    assert plots["traces"] >= 1 + 3 + 3 * 2 + 1
    for words in ("Loss surface", "미니 배치", "epochs", "start"):
        assert words in plots["text"], words
    # the data view: per run, its final decision boundary in its colour over the data
    assert data["boundaries"] == list(RUN_COLORS[:3]), data
    assert data["types"].count("heatmap") == 3 and data["contours"] >= 3
    for words in ("SGD · model at iteration 60", "Full batch · model at iteration 2", "class 1"):
        assert words in data["text"], words
    # the step panel and the settings are plain HTML: there without any script
    for words in ("SGD · iteration 60 · epoch 2", "forward", "L_B = ", "backward", "update"):
        assert words in steps, words
    assert "Samples\t30" in settings and "Learning rate\t0.2" in settings


def test_a_korean_report_draws_offline_with_korean_labels(browser, tmp_path, screenshot_dir):
    ko = page_labels()["ko"]
    drawn, steps, settings = open_offline(browser, export_html("ko"), tmp_path, screenshot_dir,
                                          "report-offline-ko")
    assert drawn["data-figure"]["boundaries"] == list(RUN_COLORS[:3])
    assert ko["surface.title"] in drawn["plots-figure"]["text"]
    assert "SGD · 이터레이션 60의 모델" in drawn["data-figure"]["text"]
    for key in ("step.forward", "step.loss", "step.backward", "step.update"):
        assert ko[key] in steps, key
    assert f"{ko['ctl.samples']}\t30" in settings and f"{ko['ctl.lr']}\t0.2" in settings
    assert "Samples" not in settings and "n_samples" not in settings


def test_the_servers_labels_are_the_pages_own(live_server, page):
    """The report reads i18n.js with a small parser: it must see exactly what Chromium imports."""
    page.goto(live_server + "/")
    imported = page.evaluate("""async () => {
        const m = await import('/static/js/i18n.js');
        return {en: m.en, ko: m.ko};
    }""")
    assert page_labels() == imported
