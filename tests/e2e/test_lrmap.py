"""The learning-rate map in real Chromium: computed over the socket, drawn as a heatmap with the
diverged cells marked and the 2/λ_max line, and a click on a cell (or Enter on the keyboard's
cursor) races that setting; a room's viewer sees the presenter's map, and a saved run keeps it."""

from __future__ import annotations

import json

import pytest
from test_classroom import new_page
from test_page import open_page
from test_rooms import create_room, present
from test_train_socket import Client

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


# -- the keyboard (WCAG 2.1.1) -------------------------------------------------------------------
RECORD_SENT = """() => { const send = WebSocket.prototype.send; window.sent = [];
  WebSocket.prototype.send = function (d) { window.sent.push(JSON.parse(d)); return send.call(this, d); }; }"""
CURSOR = f"() => ({MAP}.layout.shapes || []).filter(s => s.type === 'rect')"


@pytest.mark.parametrize("lang, says, diverged, full", [
    ("en", "learning rate 0.15, batch 8: final loss ", "learning rate 10, batch 8: diverged",
     "learning rate 10, Full batch: diverged"),
    ("ko", "학습률 0.15, 배치 8: 최종 손실 ", "학습률 10, 배치 8: 발산", "학습률 10, 전체 배치: 발산"),
])
def test_the_map_works_from_the_keyboard_alone(live_server, page, lang, says, diverged, full):
    page.add_init_script(f"({RECORD_SENT})()")
    page.goto(f"{live_server}/?lang={lang}")
    page.wait_for_function("() => !document.body.classList.contains('loading-plots') &&"
                           " window.__dp.state.generation !== null", timeout=30_000)
    page.focus("#view-map")
    page.keyboard.press("Enter")  # the view's toggle, by keyboard
    page.wait_for_function(DRAWN, timeout=60_000)
    for _ in range(30):  # Tab on until the map has the focus: one tab stop
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == "map-plot":
            break
    else:
        raise AssertionError("Tab never reached the map")
    plot = page.locator("#map-plot")
    assert plot.get_attribute("role") == "application" and plot.get_attribute("aria-label")
    assert page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") == "solid"
    assert page.text_content("#map-cell").split(":")[0].endswith("1")  # the first cell, at once
    for key in ["ArrowRight"] * 6 + ["ArrowUp"]:  # lr #6 (0.15), batch #1 (8)
        page.keyboard.press(key)
    assert page.text_content("#map-cell").startswith(says)
    assert page.get_attribute("#map-cell", "aria-live") == "polite"
    outline = page.evaluate(CURSOR)  # drawn round that cell: a frame, not a colour
    assert len(outline) == 2 and {s["y0"] for s in outline} == {0.5}
    x6 = page.evaluate(f"() => {MAP}.data[0].x[6]")
    assert all(s["x0"] < x6 < s["x1"] for s in outline)
    assert {s["line"]["color"] for s in outline} == {"#fff", "#000"}
    for _ in range(8):  # past the last learning rate: the cursor stays on it
        page.keyboard.press("ArrowRight")
    assert page.text_content("#map-cell") == diverged
    for key in ("ArrowUp", "ArrowUp", "ArrowUp"):  # past the top row (full batch): it stays
        page.keyboard.press(key)
    assert page.text_content("#map-cell") == full  # "Full batch", not "batch Full batch"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    for _ in range(5):
        page.keyboard.press("ArrowLeft")
    page.evaluate("() => { window.sent.length = 0; }")
    page.keyboard.press("Enter")  # races the cursor's cell (lr #6), as a click does
    page.wait_for_function("() => window.__dp.state.status === 'running'", timeout=20_000)
    (start,) = page.evaluate("() => window.sent.filter(m => m.type === 'start')")
    assert start["config"]["lr"] == 0.15  # (then a resume: the race is on)
    assert [r["batch_size"] for r in start["config"]["runs"]] == [1, 8, None]
    assert page.evaluate("() => window.__dp.state.inspected") == "Mini-batch"
    assert page.console_errors == [], page.console_errors


# -- the map in a room -----------------------------------------------------------------------------
def test_a_viewer_sees_the_presenters_map_and_a_click_starts_nothing(live_server, browser):
    room = create_room(live_server)
    teacher = Client(live_server)
    present(teacher, room)
    config = {"n_samples": 60, "epochs": 20, "speed": 0}
    teacher.send({"type": "start", "config": config, "paused": True})
    teacher.until("state")
    viewer = new_page(browser)
    try:
        viewer.add_init_script(f"({RECORD_SENT})()")
        viewer.goto(f"{live_server}/room/{room['code']}?lang=en")
        viewer.wait_for_function("() => !document.body.classList.contains('loading-plots') &&"
                                 " window.__dp.state.generation !== null", timeout=30_000)
        lrs = [0.001, 0.01, 0.1, 1.0, 10.0]
        teacher.send({"type": "sweep", "id": 4, "config": config, "lrs": lrs,
                      "batch_sizes": [1, 8, None]})
        result, _ = teacher.until("sweep_result")
        viewer.click("#view-map")
        viewer.wait_for_function(DRAWN, timeout=60_000)
        heat = viewer.evaluate(f"() => {MAP}.data[0]")
        assert [round(10 ** v, 6) for v in heat["x"]] == lrs
        assert heat["y"] == [1, 8, "Full batch"]
        assert heat["text"][0][-1] == "✕" and result["cells"][-1][0]["status"] == "diverged"
        shapes = viewer.evaluate(f"() => {MAP}.layout.shapes")
        assert "2/λ" in shapes[0]["label"]["text"]
        assert viewer.text_content("#map-hint") == "One run per cell, same start. ✕ = diverged."
        x, y = cell_point(viewer, 2, 1)
        viewer.mouse.click(x, y)  # a viewer's click only marks the cell
        viewer.wait_for_function(f"() => ({CURSOR})().length === 2")
        assert viewer.text_content("#map-cell").startswith("learning rate 0.1, batch 8: ")
        viewer.focus("#map-plot")
        viewer.keyboard.press("Enter")
        viewer.wait_for_timeout(300)
        assert viewer.evaluate("() => window.sent") == []  # nothing sent: read-only
        # the presenter starts another config: the viewer's map is of the old one, and goes
        teacher.send({"type": "start", "config": {**config, "epochs": 5}, "paused": True})
        viewer.wait_for_function(f"() => !{MAP}.data", timeout=20_000)
        assert viewer.text_content("#map-cell") == ""
        assert viewer.console_errors == [], viewer.console_errors
    finally:
        viewer.context.close()
        teacher.close()


# -- the map in a saved run --------------------------------------------------------------------------
def test_a_saved_run_carries_its_map_and_a_fresh_page_shows_it(live_server, browser, tmp_path):
    first = new_page(browser, accept_downloads=True)
    try:
        open_page(first, live_server)
        open_map(first)
        z = first.evaluate(f"() => {MAP}.data[0].z")
        first.click("#view-contour")
        first.click("#files > summary")
        with first.expect_download() as info:
            first.click("[data-export='json']")
        path = tmp_path / "saved.json"
        info.value.save_as(path)
    finally:
        first.context.close()
    saved = json.loads(path.read_text())
    assert len(saved["lr_map"]["cells"]) == 12 and saved["lr_map"]["batch_sizes"] == [1, 8, 32, None]

    fresh = new_page(browser)  # a new context: nothing of the first page's
    try:
        fresh.add_init_script(f"({RECORD_SENT})()")
        open_page(fresh, live_server)
        fresh.wait_for_function("() => !document.body.classList.contains('loading-plots')",
                                timeout=30_000)
        fresh.set_input_files("#load-file", str(path))
        fresh.wait_for_function("() => window.__dp.state.replay", timeout=20_000)
        assert fresh.is_visible("#view-map")
        fresh.click("#view-map")
        fresh.wait_for_function(DRAWN, timeout=20_000)
        assert fresh.evaluate(f"() => {MAP}.data[0].z") == z
        assert not fresh.evaluate("() => window.sent.some(m => m.type === 'sweep')")  # as saved
        fresh.click("#btn-reset")  # back to the live page: its own map, and a click races again
        fresh.wait_for_function("() => !window.__dp.state.replay && window.__dp.state.generation !== null")
        fresh.click("#view-map")
        fresh.wait_for_function(f"() => window.sent.some(m => m.type === 'sweep') && ({DRAWN})()",
                                timeout=60_000)
        x, y = cell_point(fresh, 6, 1)
        fresh.mouse.click(x, y)
        fresh.wait_for_function("() => window.__dp.state.status === 'running'", timeout=20_000)
        assert fresh.console_errors == [], fresh.console_errors
    finally:
        fresh.context.close()
