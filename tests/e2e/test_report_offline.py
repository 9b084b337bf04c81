"""The HTML report, saved to a file and opened in Chromium with every network request blocked,
draws its plots: plotly.js must be inside the file (a teacher opens it later, maybe offline)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.core.settings import Settings
from app.main import create_app

pytestmark = pytest.mark.e2e

# A projected surface (an MLP), three runs: contour, paths, loss curves and the config table.
CONFIG = {"dataset": "moons", "hidden": [3], "n_samples": 30, "epochs": 2, "seed": 2,
          "runs": [{"name": "SGD", "batch_size": 1}, {"name": "미니 배치", "batch_size": 8},
                   {"name": "Full batch", "batch_size": None}]}

DRAWN = """() => {
  const div = document.querySelector('.plotly-graph-div');
  if (!div || !div.querySelector('.main-svg')) return null;
  const text = [...div.querySelectorAll('text')].map(t => t.textContent).join('|');
  return {svgs: div.querySelectorAll('.main-svg').length,
          traces: div.data.length,
          contours: div.querySelectorAll('.contourlayer .contour').length,
          lines: [...div.querySelectorAll('.scatterlayer .trace path.js-line')]
                   .filter(p => (p.getAttribute('d') || '').length > 10).length,
          tables: div.querySelectorAll('.table').length,
          text};
}"""


def test_the_report_draws_its_plots_with_the_network_blocked(browser, tmp_path, screenshot_dir):
    with TestClient(create_app(Settings())) as http:
        response = http.post("/api/export/html", json={"config": CONFIG})
    assert response.status_code == 200
    report = tmp_path / "report.html"
    report.write_text(response.text, encoding="utf-8")

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
    try:
        page.goto(report.as_uri(), wait_until="load")
        try:
            page.wait_for_function(DRAWN, timeout=20_000)
        except Exception as exc:
            raise AssertionError(f"no plot drawn; blocked {blocked}, errors {errors}") from exc
        drawn = page.evaluate(DRAWN)
        page.screenshot(path=screenshot_dir / "report-offline.png", full_page=True)
    finally:
        context.close()
    assert blocked == [] and errors == []
    assert drawn["svgs"] >= 1
    assert drawn["contours"] >= 1  # the loss surface
    # each run's path on the surface and its two loss curves (batch and full data)
    assert drawn["lines"] >= 3 + 3 * 2, drawn
    assert drawn["tables"] == 1
    assert drawn["traces"] >= 1 + 3 + 3 * 2 + 1
    for words in ("loss surface", "Descent Playground: moons, seed 2", "미니 배치", "epoch"):
        assert words in drawn["text"], words
