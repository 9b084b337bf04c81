"""The runs editor in real Chromium against the real app: add, rename and remove runs on their
cards; the server starts exactly those runs; the share link carries them and restores them in
the editor; a presenter room's viewers see them; an edit during a race waits for the next one;
field errors sit next to their field in the page's language. Screenshots land in tests/artifacts/."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from test_classroom import new_page as classroom_page

pytestmark = pytest.mark.e2e

PRIMED = (
    "() => { const s = window.__dp.state; return s.generation !== null && s.runs.length > 0"
    " && !s.awaitingStart && window.__dp.plots.surface.data?.length > 0; }"
)
RUNS = "() => window.__dp.state.runs.map(r => [r.name, r.batch_size, r.lr, r.update])"
SPECS = "() => [...document.querySelectorAll('#counters .run')].map(r => [r.dataset.run," \
    " r.querySelector('.run-spec').textContent])"
#: What the editor below makes of the three defaults (main learning rate 0.2).
EDITED = [["Stochastic", 1, 0.2, "sgd"], ["Mini-batch", 32, 0.2, "sgd"], ["Adam 4", 10, 0.05, "adam"]]
EDITED_SPECS = [
    ["Stochastic", "batch 1 · lr 0.2 (main) · plain GD"],
    ["Mini-batch", "batch 32 · lr 0.2 (main) · plain GD"],
    ["Adam 4", "batch 10 · lr 0.05 · Adam"],
]


def new_page(browser, width=1440, height=900):
    """test_classroom's page (its own context, console errors collected) that also keeps every
    message the server sends."""
    page = classroom_page(browser, viewport={"width": width, "height": height})
    page.received = []
    page.on("websocket", lambda ws: ws.on(
        "framereceived", lambda f: page.received.append(json.loads(f)) if isinstance(f, str) else None))
    return page


def open_primed(page, url):
    page.goto(url)
    page.wait_for_function(PRIMED, timeout=15_000)


def pencil(name):
    return f".run-card:has(.run[data-run='{name}']) .run-edit"


def wait_runs(page, expected):
    page.wait_for_function(f"(e) => JSON.stringify(({RUNS})()) === JSON.stringify(e)", arg=expected,
                           timeout=15_000)
    page.wait_for_function(PRIMED, timeout=15_000)


def edit_the_defaults(page):
    """Add Adam 4 (batch 10, lr 0.05), rename SGD to Stochastic, remove Full batch."""
    page.click("#runs-add")
    assert page.evaluate("() => document.activeElement.id") == "rf-name"
    page.fill("#rf-name", "Adam 4")
    page.select_option("#rf-kind", "mini")
    page.fill("#rf-size", "10")
    page.uncheck("#rf-same")
    page.fill("#rf-lr", "0.05")
    page.select_option("#rf-rule", "adam")
    page.click("#rf-apply")
    wait_runs(page, [["SGD", 1, 0.2, "sgd"], ["Mini-batch", 32, 0.2, "sgd"],
                     ["Full batch", None, 0.2, "sgd"], ["Adam 4", 10, 0.05, "adam"]])
    page.click(pencil("SGD"))
    page.fill("#rf-name", "Stochastic")
    page.keyboard.press("Enter")  # Enter in a field applies
    wait_runs(page, [["Stochastic", 1, 0.2, "sgd"], ["Mini-batch", 32, 0.2, "sgd"],
                     ["Full batch", None, 0.2, "sgd"], ["Adam 4", 10, 0.05, "adam"]])
    page.click(pencil("Full batch"))
    page.click("#rf-remove")
    wait_runs(page, EDITED)


def started_runs(page):
    """The runs of the server's latest `started` message, as the engine runs them."""
    started = [m for m in page.received if m.get("type") == "started"][-1]
    return [[r["name"], r["batch_size"], r["lr"], r["update"]] for r in started["runs"]], started


def test_add_rename_remove_then_start_runs_exactly_those(live_server, browser, screenshot_dir):
    page = new_page(browser)
    try:
        open_primed(page, live_server + "/?epochs=3&speed=300")
        assert page.eval_on_selector_all("#counters .run-spec", "els => els.map(e => e.textContent)") == [
            "batch 1 · lr 0.2 (main) · plain GD", "batch 32 · lr 0.2 (main) · plain GD",
            "full batch (100) · lr 0.2 (main) · plain GD"]
        assert page.is_disabled("#runs-defaults")  # already the defaults
        edit_the_defaults(page)
        assert page.evaluate(SPECS) == EDITED_SPECS
        assert page.is_hidden("#run-form") and page.is_hidden("#runs-note")
        page.screenshot(path=screenshot_dir / "runs-editor-edited.png")

        # the server was asked for, and started, exactly these runs; the config keeps "same lr"
        runs, started = started_runs(page)
        assert runs == EDITED
        assert [r["lr"] for r in started["config"]["runs"]] == [None, None, 0.05]
        assert started["runs"][2]["iterations_per_epoch"] == 10  # 100 samples ÷ batch 10
        page.click("#btn-start")
        page.wait_for_function("() => document.body.dataset.status === 'done'", timeout=30_000)
        assert page.evaluate(RUNS) == EDITED
        assert page.evaluate("() => window.__dp.state.counts['Adam 4']") == 30  # 10 it × 3 epochs
        assert "iteration 30/30" in page.inner_text(".run[data-run='Adam 4']")
        assert page.evaluate(SPECS) == EDITED_SPECS

        # back to the three defaults in one click
        page.click("#runs-defaults")
        wait_runs(page, [["SGD", 1, 0.2, "sgd"], ["Mini-batch", 32, 0.2, "sgd"],
                         ["Full batch", None, 0.2, "sgd"]])
        assert page.console_errors == []
    finally:
        page.context.close()


def test_the_share_link_carries_the_runs_and_restores_them_in_the_editor(live_server, browser):
    page = new_page(browser)
    other = None
    try:
        open_primed(page, live_server + "/?epochs=3")
        edit_the_defaults(page)
        page.wait_for_function("() => location.search.includes('Adam')")  # the page's own URL too
        page.click("#btn-share")
        page.wait_for_function("() => document.getElementById('dlg-url').value.startsWith('http')")
        url = page.input_value("#dlg-url")
        query = parse_qs(urlsplit(url).query)
        assert query["runs"] == ["Stochastic:1,Mini-batch:32,Adam 4:10:lr=0.05:update=adam"]

        other = new_page(browser)
        open_primed(other, url)
        assert other.evaluate(RUNS) == EDITED
        assert other.evaluate(SPECS) == EDITED_SPECS
        assert started_runs(other)[0] == EDITED
        other.click(pencil("Adam 4"))
        form = other.evaluate(
            "() => ['rf-name', 'rf-kind', 'rf-size', 'rf-lr', 'rf-rule'].map(i => document.getElementById(i).value)"
            ".concat([document.getElementById('rf-same').checked])"
        )
        assert form == ["Adam 4", "mini", "10", "0.05", "adam", False]
        other.keyboard.press("Escape")
        assert other.is_hidden("#run-form")
        other.click(pencil("Stochastic"))
        assert other.is_checked("#rf-same") and other.input_value("#rf-kind") == "sgd"
        assert other.is_disabled("#rf-lr")
        # a reload of the editing page keeps its runs (its URL follows the config)
        page.reload()
        page.wait_for_function(PRIMED, timeout=15_000)
        assert page.evaluate(RUNS) == EDITED
        assert page.console_errors == [] and other.console_errors == []
    finally:
        page.context.close()
        if other is not None:
            other.context.close()


def test_a_presenter_rooms_viewers_see_the_edited_runs(live_server, browser, screenshot_dir):
    teacher = new_page(browser)
    viewer = None
    try:
        open_primed(teacher, live_server + "/?epochs=3")
        edit_the_defaults(teacher)
        teacher.click("#btn-present")
        teacher.wait_for_function(
            "() => /^[A-Z0-9]{5}$/.test(document.getElementById('dlg-code').textContent)")
        viewer_url = teacher.input_value("#dlg-url")
        teacher.click("#dlg-close")
        viewer = new_page(browser)
        open_primed(viewer, viewer_url)
        assert viewer.evaluate(RUNS) == EDITED
        assert viewer.evaluate(SPECS) == EDITED_SPECS
        for hidden in ("#runs-add", "#runs-defaults", ".run-edit", "#runs-note"):
            assert not viewer.is_visible(hidden), hidden
        # an edit before the next start reaches the room too
        teacher.click(pencil("Mini-batch"))
        teacher.select_option("#rf-rule", "momentum")
        teacher.click("#rf-apply")
        expected = [EDITED[0], ["Mini-batch", 32, 0.2, "momentum"], EDITED[2]]
        viewer.wait_for_function(f"(e) => JSON.stringify(({RUNS})()) === JSON.stringify(e)",
                                 arg=expected, timeout=15_000)
        viewer.wait_for_function(
            "() => document.querySelector(\".run[data-run='Mini-batch'] .run-spec\").textContent"
            " === 'batch 32 · lr 0.2 (main) · momentum'")
        assert not viewer.is_visible("#runs-note")
        viewer.screenshot(path=screenshot_dir / "runs-editor-viewer.png")
        assert viewer.console_errors == []
    finally:
        teacher.context.close()
        if viewer is not None:
            viewer.context.close()


def test_an_edit_during_a_race_waits_for_the_next_one(live_server, browser, screenshot_dir):
    page = new_page(browser)
    try:
        open_primed(page, live_server + "/?epochs=200&speed=20")
        page.click("#btn-start")
        page.wait_for_function("() => Object.values(window.__dp.state.counts).every(n => n > 0)",
                               timeout=15_000)
        generation = page.evaluate("() => window.__dp.state.generation")
        page.click(pencil("SGD"))
        page.select_option("#rf-rule", "momentum")
        page.click("#rf-apply")
        page.click("#runs-add")
        page.fill("#rf-name", "Extra")
        page.click("#rf-apply")
        # the race goes on with its own runs; a note says when the change applies
        assert page.is_visible("#runs-note")
        assert "next Reset or new race" in page.inner_text("#runs-note")
        assert not page.is_visible(".run-edit")  # the note's buttons edit the next race's runs
        counts = page.evaluate("() => window.__dp.state.counts.SGD")
        page.wait_for_function("(c) => window.__dp.state.counts.SGD > c", arg=counts)
        assert page.evaluate("() => window.__dp.state.generation") == generation
        assert page.evaluate("() => document.body.dataset.status") == "running"
        assert page.evaluate("() => window.__dp.state.runs.length") == 3
        page.screenshot(path=screenshot_dir / "runs-editor-pending.png")
        page.click("#runs-note button:text-is('Extra')")
        assert page.input_value("#rf-name") == "Extra"
        page.keyboard.press("Escape")
        # Reset starts the next race with the edited runs
        page.click("#btn-reset")
        wait_runs(page, [["SGD", 1, 0.2, "momentum"], ["Mini-batch", 32, 0.2, "sgd"],
                         ["Full batch", None, 0.2, "sgd"], ["Extra", 16, 0.2, "sgd"]])
        assert page.is_hidden("#runs-note")
        assert page.evaluate("() => window.__dp.state.generation") > generation
        assert page.console_errors == []
    finally:
        page.context.close()


def test_field_errors_sit_next_to_their_field_in_both_languages(live_server, browser,
                                                              screenshot_dir):
    page = new_page(browser)
    try:
        open_primed(page, live_server + "/?lang=en")
        # keyboard only: Tab reaches the pencil, Enter opens, Escape closes and returns focus
        page.focus(pencil("Mini-batch"))
        page.keyboard.press("Enter")
        assert page.evaluate("() => document.activeElement.id") == "rf-name"
        page.keyboard.press("Escape")
        assert page.evaluate("() => document.activeElement.classList.contains('run-edit')")
        page.keyboard.press("Space")  # a button's Space is the button's, not Start
        assert page.is_visible("#run-form")
        assert page.evaluate("() => document.body.dataset.status") == "idle"

        def errors():
            return page.evaluate(
                "() => ['rf-name', 'rf-size', 'rf-lr'].map(i => [document.getElementById(i)"
                ".getAttribute('aria-invalid'), document.getElementById(i + '-err').textContent])")

        page.fill("#rf-name", "SGD")
        page.fill("#rf-size", "1")
        page.uncheck("#rf-same")
        page.fill("#rf-lr", "0")
        page.click("#rf-apply")
        assert errors() == [
            ["true", "Another run is already called “SGD”"],
            ["true", "Mini-batch size must be a whole number from 2 to 100,000"],
            ["true", "Learning rate must be a number above 0 and at most 10"],
        ]
        assert page.evaluate("() => document.activeElement.id") == "rf-name"
        # each message is right under its own field, inside the form, covering nothing
        boxes = page.evaluate(
            "() => ['rf-name', 'rf-size', 'rf-lr'].map(i => [document.getElementById(i)"
            ".getBoundingClientRect().toJSON(), document.getElementById(i + '-err')"
            ".getBoundingClientRect().toJSON()])")
        for field, err in boxes:
            assert err["top"] >= field["bottom"] - 1 and abs(err["left"] - field["left"]) < 2
        page.screenshot(path=screenshot_dir / "runs-editor-errors.png")
        page.fill("#rf-name", "  ")
        page.fill("#rf-size", "12")
        page.fill("#rf-lr", "0.3")
        page.click("#rf-apply")
        assert errors() == [["true", "Name must be 1 to 40 characters, not only spaces"],
                            [None, ""], [None, ""]]
        assert page.evaluate(RUNS)[1] == ["Mini-batch", 32, 0.2, "sgd"]  # nothing applied

        # the same in Korean, with the ranges
        page.click("#rf-cancel")
        page.click("button[data-lang='ko']")
        assert page.inner_text("#runs-add") == "+ 실행 추가"
        assert "배치 32 · 학습률 0.2 (기본) · 기본 경사하강" in page.inner_text(
            ".run[data-run='Mini-batch'] .run-spec")
        page.click(pencil("Mini-batch"))
        assert page.input_value("#rf-name") == "미니 배치"  # the default run's name, translated
        page.fill("#rf-size", "0")
        page.uncheck("#rf-same")
        page.fill("#rf-lr", "20")
        page.click("#rf-apply")
        assert errors()[1:] == [["true", "미니 배치 크기는 2부터 100,000까지의 정수여야 합니다"],
                                ["true", "학습률은 0보다 크고 10 이하인 수여야 합니다"]]
        page.screenshot(path=screenshot_dir / "runs-editor-errors-ko.png")
        page.fill("#rf-size", "64")
        page.fill("#rf-lr", "0.1")
        page.click("#rf-apply")  # the translated name stays the run's own name
        wait_runs(page, [["SGD", 1, 0.2, "sgd"], ["Mini-batch", 64, 0.1, "sgd"],
                         ["Full batch", None, 0.2, "sgd"]])
        assert page.input_value("#c-batch") == "64"  # the top bar's batch field follows its run
        # the keyboard stays where it was: on the edited card's pencil, drawn again
        assert page.evaluate("() => document.activeElement.closest('.run-card')"
                             ".querySelector('.run').dataset.run") == "Mini-batch"

        # six runs at most; the last run has no Remove
        for _ in range(3):
            page.click("#runs-add")
            page.click("#rf-apply")
            page.wait_for_function(PRIMED)
        page.wait_for_function("() => window.__dp.state.runs.length === 6", timeout=15_000)
        assert page.is_disabled("#runs-add")
        assert len(set(page.evaluate("() => window.__dp.state.runs.map(r => r.color)"))) == 6
        page.goto(live_server + "/?lang=en&runs=Only:full")
        page.wait_for_function(PRIMED, timeout=15_000)
        page.click(pencil("Only"))
        assert page.is_hidden("#rf-remove")
        assert page.console_errors == []
    finally:
        page.context.close()
