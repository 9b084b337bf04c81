"""The learning-rate map in real Chromium: computed over the socket, drawn as a heatmap with the
diverged cells marked and the 2/λ_max line, and a click on a cell races that setting."""

from __future__ import annotations

import pytest
from test_classroom import new_page
from test_page import open_page

pytestmark = pytest.mark.e2e

MAP = "document.getElementById('map-plot')"
DRAWN = f"() => {MAP}.data && {MAP}.data[0].z && document.getElementById('map-bar').hidden"
SIZES = {"1440x900": {"width": 1440, "height": 900}, "1280x720": {"width": 1280, "height": 720},
         "phone": {"width": 390, "height": 844}}


ON_TOP = ("() => { const b = document.getElementById('surface-plot').getBoundingClientRect();"
          " return !!document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2)"
          ".closest('#map'); }")  # the map covers the surface


def open_map(page):
    """Open the map view once plotly.js is there; wait for the computed map."""
    page.wait_for_function("() => !document.body.classList.contains('loading-plots')",
                           timeout=30_000)
    page.click("#view-map")
    page.wait_for_function(DRAWN, timeout=60_000)


def cell_point(page, i, j):
    """Where the cell of learning rate i and batch size j is drawn, in page pixels."""
    return page.evaluate(f"""() => {{
        const d = {MAP}, L = d._fullLayout, box = d.getBoundingClientRect();
        return [box.left + L.xaxis._offset + L.xaxis.l2p(d.data[0].x[{i}]),
                box.top + L.yaxis._offset + L.yaxis.l2p({j})];
    }}""")


def test_the_map_is_computed_drawn_and_a_click_races_that_cell(live_server, page, screenshot_dir):
    open_page(page, live_server)
    open_map(page)
    assert page.is_visible("#map-plot") and page.evaluate(ON_TOP)
    assert page.get_attribute("#view-map", "aria-pressed") == "true"
    assert page.get_attribute("#view-contour", "aria-pressed") == "false"
    heat = page.evaluate(f"() => {MAP}.data[0]")
    lrs = [round(10 ** v, 6) for v in heat["x"]]  # drawn at log10(lr)
    assert len(lrs) == 12 and lrs[0] == 0.001 and lrs[-1] == 10
    assert heat["y"] == [1, 8, 32, "Full batch"]
    # lr 10 diverges with every batch size: a ✕ in each row (not by colour only), no colour there
    assert [row[-1] for row in heat["text"]] == ["✕"] * 4
    assert all(row[-1] is None for row in heat["z"])
    assert {mark for row in heat["text"] for mark in row} == {"", "✕"}
    assert all((mark == "✕") == (z is None) for row, zs in zip(heat["text"], heat["z"], strict=True)
               for mark, z in zip(row, zs, strict=True))
    assert heat["z"][3][0] is not None and heat["hovertext"][3][0].endswith("(completed)")
    layout = page.evaluate(f"() => ({{shapes: {MAP}.layout.shapes,"
                           f" ticks: {MAP}.layout.xaxis.ticktext}})")
    assert {"0.001", "0.01", "0.1", "1", "10"} <= set(layout["ticks"])
    (line,) = layout["shapes"]  # at 2/λ_max, as the learning-rate slider marks it
    assert "2/λ" in line["label"]["text"] and 10 ** line["x0"] == pytest.approx(0.986, abs=1e-3)
    assert page.text_content("#lr-mark-label").endswith("0.986")
    page.screenshot(path=screenshot_dir / "lrmap-1440x900.png")

    # the cell of lr #6 (0.15) with batch 8: every run at 0.15, the mini-batch run at 8
    lr = lrs[6]
    x, y = cell_point(page, 6, 1)
    page.mouse.click(x, y)
    page.wait_for_function(
        f"() => {{ const s = window.__dp.state; return s.config && s.config.lr === {lr} &&"
        " s.status === 'running' && s.runs.every(r => s.counts[r.name] > 0); }",
        timeout=20_000)
    state = page.evaluate("() => ({runs: window.__dp.state.config.runs,"
                          " inspected: window.__dp.state.inspected})")
    assert [(r["name"], r["batch_size"], r["lr"]) for r in state["runs"]] == [
        ("SGD", 1, None), ("Mini-batch", 8, None), ("Full batch", None, None)]
    assert state["inspected"] == "Mini-batch"
    assert page.input_value("#c-lr") == str(lr) and page.input_value("#c-batch") == "8"
    assert not page.is_visible("#map-plot") and not page.evaluate(ON_TOP)
    assert page.get_attribute("#view-contour", "aria-pressed") == "true"
    assert page.console_errors == [], page.console_errors


def test_the_map_follows_the_form_and_a_start_drops_a_map_in_progress(live_server, page):
    open_page(page, live_server)
    open_map(page)
    keep = f"() => {{ window.lastMap = JSON.stringify({MAP}.data[0].z); }}"
    changed = f"() => JSON.stringify({MAP}.data[0].z) !== window.lastMap"
    page.evaluate(keep)
    page.fill("#c-epochs", "3")  # a new (paused) start: the map shown asks again
    page.dispatch_event("#c-epochs", "change")
    page.wait_for_function(changed, timeout=60_000)
    page.wait_for_function(DRAWN, timeout=60_000)
    # away from the map, a change of the form leaves it be; back on the map it is asked again
    page.evaluate(keep)
    page.click("#view-contour")
    page.fill("#c-epochs", "2")
    page.dispatch_event("#c-epochs", "change")
    page.wait_for_timeout(500)
    assert not page.evaluate(changed)
    page.click("#view-map")
    page.wait_for_function(changed, timeout=60_000)
    # a start while the map computes: the server drops it, the page asks again for the new form
    page.fill("#c-epochs", "4")
    page.dispatch_event("#c-epochs", "change")
    page.fill("#c-epochs", "5")
    page.dispatch_event("#c-epochs", "change")
    page.wait_for_function(DRAWN, timeout=60_000)
    assert page.evaluate("() => window.__dp.state.lastError") is None
    assert page.console_errors == []


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("size", list(SIZES))
def test_screenshots_of_the_map(live_server, browser, screenshot_dir, lang, size):
    page = new_page(browser, viewport=SIZES[size])
    try:
        page.goto(f"{live_server}/?lang={lang}")
        page.wait_for_function("() => document.querySelectorAll('#c-dataset option').length")
        open_map(page)
        if lang == "ko":
            assert "전체 배치" in page.evaluate(f"() => {MAP}.data[0].y")
        page.locator("#map").scroll_into_view_if_needed()
        page.screenshot(path=screenshot_dir / f"lrmap-{lang}-{size}.png")
        assert page.console_errors == []
    finally:
        page.context.close()


def test_a_map_past_the_cap_is_refused_and_the_notice_names_it(live_server, page):
    open_page(page, live_server)
    page.fill("#c-epochs", "300")  # 12 x (30,000 + 3,900 + 1,200 + 300) iterations > 200,000
    page.dispatch_event("#c-epochs", "change")
    page.wait_for_function("() => !document.body.classList.contains('loading-plots')",
                           timeout=30_000)
    page.click("#view-map")
    page.wait_for_selector("#notice:not([hidden])")
    assert "DESCENT_MAX_HEADLESS_ITERATIONS" in page.text_content("#notice-text")
    assert page.is_hidden("#map-bar") and page.evaluate(f"() => !{MAP}.data")
    assert page.evaluate("() => window.__dp.state.lastError.sweep") == 1
    assert page.console_errors == []
