"""The page opens in real Chromium without errors."""

import pytest

pytestmark = pytest.mark.e2e


def test_index_loads_without_errors(live_server, page, screenshot_dir):
    response = page.goto(live_server + "/", wait_until="load")
    assert response is not None and response.ok
    assert page.title() == "Descent Playground"
    page.wait_for_function("() => typeof window.Plotly === 'object' && !!window.Plotly.newPlot")
    assert page.locator("#app").count() == 1
    page.screenshot(path=screenshot_dir / "smoke-index.png", full_page=True)
    assert page.console_errors == []


def test_page_fixture_collects_console_and_page_errors(live_server, page):
    page.goto(live_server + "/")
    page.evaluate("console.error('boom from console')")
    page.evaluate("setTimeout(() => { throw new Error('boom uncaught'); }, 0)")
    for _ in range(50):  # the page sets up a race at load: give the events time to arrive
        if any("boom uncaught" in e for e in page.console_errors):
            break
        page.wait_for_timeout(100)
    assert any("boom from console" in e for e in page.console_errors)
    assert any("boom uncaught" in e for e in page.console_errors)
