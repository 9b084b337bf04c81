"""The playground page in real Chromium against the real app: the race streams, pauses, steps,
resumes and diverges; both languages; the phone layout. Screenshots land in tests/artifacts/."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.e2e

COUNTS = "() => ({...window.__dp.state.counts})"
STATUS = "() => document.body.dataset.status"


def open_page(page, base_url):
    page.goto(base_url + "/")
    page.wait_for_function(
        "() => window.__dp && document.querySelectorAll('#c-dataset option').length > 0"
    )


def set_value(page, selector, value):
    page.fill(selector, str(value))
    page.dispatch_event(selector, "change")


def start(page):
    page.click("#btn-start")
    page.wait_for_function(
        "() => { const s = window.__dp.state; return s.generation !== null && s.runs.length > 0 &&"
        " s.runs.every(r => s.counts[r.name] > 0); }",
        timeout=15_000,
    )


def trace_len(page, plot, index):
    return page.evaluate(f"() => window.__dp.plots.{plot}.data[{index}].x.length")


def settle_paused(page):
    """Wait until the server confirmed the pause and no frame has arrived for a while."""
    page.wait_for_function("() => document.body.dataset.status === 'paused'")
    page.wait_for_function("() => window.__dp.state.received.state > 0 && window.__dp.state.paused")
    before = None
    for _ in range(20):
        now = page.evaluate(COUNTS)
        if now == before:
            return now
        before = now
        page.wait_for_timeout(250)
    pytest.fail(f"counts kept changing while paused: {before}")


def test_race_streams_pauses_steps_and_resumes(live_server, page, screenshot_dir):
    open_page(page, live_server)
    assert page.evaluate(STATUS) == "idle"
    assert page.inner_text("#btn-start") == "Start"
    set_value(page, "#c-epochs", 300)  # long enough that every run is still going below
    start(page)
    assert page.evaluate(STATUS) == "running"
    names = page.evaluate("() => window.__dp.state.runs.map(r => r.name)")
    assert names == ["SGD", "Mini-batch", "Full batch"]

    # three paths on the surface and the loss curves grow
    first = page.evaluate(COUNTS)
    surf0 = [trace_len(page, "surface", 2 * i) for i in range(3)]
    loss0 = [trace_len(page, "loss", 3 * i + 1) for i in range(3)]
    page.wait_for_timeout(1500)
    later = page.evaluate(COUNTS)
    assert all(later[n] > first[n] for n in names), (first, later)
    # every path and curve grows (each plot in its turn: on a busy machine one may wait a while)
    page.wait_for_function("(n) => [0, 2, 4].every((t, i) => window.__dp.plots.surface.data[t]"
                           ".x.length > n[i])", arg=surf0)
    page.wait_for_function("(n) => [1, 4, 7].every((t, i) => window.__dp.plots.loss.data[t]"
                           ".x.length > n[i])", arg=loss0)
    # the path is labelled with the run's name at its head, in the run's colour (or, where the
    # labels crowd, left out rather than overlap another: the run cards name every run)
    heads = page.evaluate("() => [1, 3, 5].map(i => window.__dp.plots.surface.data[i].text)")
    assert any(heads) and all(h in (n, "") for h, n in zip(heads, names, strict=True)), heads
    colors = page.evaluate("() => [0, 2, 4].map(i => window.__dp.plots.surface.data[i].line.color)")
    assert colors == ["#E69F00", "#56B4E9", "#009E73"]
    # the numbers behind the step and the source material's arithmetic
    page.wait_for_function("() => document.querySelectorAll('#step-body .phase').length === 4")
    assert "w = " in page.inner_text("#step-body")
    counters = page.inner_text("#counters")
    assert "100 samples ÷ batch 32 = 4 it/epoch" in counters
    assert "× 300 epochs = 1,200 iterations" in counters
    page.screenshot(path=screenshot_dir / "page-running.png")

    # pause: the counts stop
    page.click("#btn-pause")
    paused = settle_paused(page)
    page.wait_for_timeout(700)
    assert page.evaluate(COUNTS) == paused
    assert page.inner_text("#btn-start") == "Resume"

    # step: every run one more point
    page.click("#btn-step")
    page.wait_for_function(
        "(c) => Object.entries(c).every(([n, v]) => window.__dp.state.counts[n] === v + 1)",
        arg=paused,
    )
    page.wait_for_timeout(400)
    stepped = page.evaluate(COUNTS)
    assert stepped == {n: paused[n] + 1 for n in names}
    # → is Step too
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "(c) => Object.entries(c).every(([n, v]) => window.__dp.state.counts[n] === v + 1)",
        arg=stepped,
    )
    page.screenshot(path=screenshot_dir / "page-paused-step.png")

    # resume: counting again
    page.click("#btn-start")
    page.wait_for_function("() => document.body.dataset.status === 'running'")
    resumed = page.evaluate(COUNTS)
    page.wait_for_function(
        "(c) => Object.entries(c).every(([n, v]) => window.__dp.state.counts[n] > v)", arg=resumed
    )
    assert page.console_errors == []


def test_diverging_learning_rate_shows_diverged(live_server, page, screenshot_dir):
    open_page(page, live_server)
    set_value(page, "#c-lr", 5)
    start(page)
    # 2/λ_max is marked on the slider and the page warns before the blow-up
    page.wait_for_function("() => !document.getElementById('lr-mark').hidden")
    assert "2/λ_max" in page.inner_text("#lr-mark")
    assert page.is_visible("#lr-warn")
    assert "full batch will diverge" in page.inner_text("#lr-warn")
    page.wait_for_function(
        "() => window.__dp.state.statuses['Full batch'] === 'diverged'", timeout=15_000
    )
    page.wait_for_function(
        "() => document.getElementById('counters').innerText.includes('diverged at iteration')"
    )
    row = page.locator(".run[data-run='Full batch']")
    assert "diverged at iteration" in row.inner_text()
    # the surface says so near a diverged run's last finite point, not a blank plot (SGD
    # diverges too: when the two labels would overlap, one is left out, the cards still say it)
    page.wait_for_function(
        "() => window.__dp.plots.surface.data.some((d, i) => [1, 5].includes(i)"
        " && String(d.text).includes('diverged at iteration'))"
    )
    assert trace_len(page, "surface", 4) > 1
    page.wait_for_function("() => document.body.dataset.status === 'done'", timeout=15_000)
    page.screenshot(path=screenshot_dir / "page-diverged.png")
    assert page.console_errors == []


def test_korean_labels_and_persistence(live_server, page, screenshot_dir):
    open_page(page, live_server)
    page.click("button[data-lang='ko']")
    assert page.inner_text("#btn-start") == "시작"
    assert page.inner_text("#btn-pause") == "일시정지"
    assert page.inner_text("#btn-step") == "한 단계"
    assert page.inner_text("#btn-reset") == "초기화"
    assert page.evaluate("() => document.documentElement.lang") == "ko"
    header = page.inner_text(".topbar")
    for term in ("학습률", "미니 배치 사이즈", "에폭", "손실함수"):
        assert term in header
    set_value(page, "#c-epochs", 200)
    start(page)
    page.wait_for_function("() => document.querySelectorAll('#step-body .phase').length === 4")
    step = page.inner_text("#step-body")
    for term in ("순전파", "손실 계산", "역전파", "경사하강법"):
        assert term in step
    assert "이터레이션" in page.inner_text("#counters")
    page.wait_for_timeout(1500)
    page.screenshot(path=screenshot_dir / "page-ko.png")
    page.reload()
    page.wait_for_function("() => window.__dp")
    assert page.inner_text("#btn-start") == "시작"  # remembered in localStorage
    page.click("button[data-lang='en']")
    assert page.inner_text("#btn-start") == "Start"
    assert page.console_errors == []


def test_dictionaries_have_the_same_keys(live_server, page):
    open_page(page, live_server)
    result = page.evaluate(
        """async () => {
            const m = await import('/static/js/i18n.js');
            const en = Object.keys(m.en).sort(), ko = Object.keys(m.ko).sort();
            const used = new Set();
            for (const a of ['i18n', 'i18nTitle', 'i18nAria', 'i18nPh'])
                for (const el of document.querySelectorAll('*')) if (el.dataset[a]) used.add(el.dataset[a]);
            return {onlyEn: en.filter(k => !m.ko[k]), onlyKo: ko.filter(k => !m.en[k]),
                    missing: [...used].filter(k => !m.en[k] || !m.ko[k])};
        }"""
    )
    assert result == {"onlyEn": [], "onlyKo": [], "missing": []}


# Korean entries that are rightly the English text: names and symbols read the same in a
# Korean class (a formula with no word in it, e.g. "L_B = {v}", needs no entry here).
SAME_IN_KOREAN = {
    "app.title": "the product's name",
    "act.tanh": "a function's name",
    "act.relu": "a function's name",
    "ds.xor": "a logic gate's name",
    "run.SGD": "the run's name, as the source material writes it",
    "rule.adam": "an update rule's name",
    "lr.limit": "a formula: 2/λ_max = {v}",
}


def test_every_korean_entry_is_translated(live_server, page):
    """A Korean entry identical to its English one was forgotten (unless it is a name or a
    formula: SAME_IN_KOREAN, or no two Latin letters in a row outside the {placeholders})."""
    open_page(page, live_server)
    same = page.evaluate(
        """async () => {
            const m = await import('/static/js/i18n.js');
            return Object.keys(m.en).filter(k => m.ko[k] === m.en[k]).map(k => [k, m.en[k]]);
        }"""
    )
    assert {"app.title", "run.SGD", "surface.ghost"} <= {k for k, _ in same}  # it reads them
    words = re.compile(r"[A-Za-z]{2,}")
    untranslated = {key: text for key, text in same
                    if key not in SAME_IN_KOREAN and words.search(re.sub(r"\{\w+\}", "", text))}
    assert untranslated == {}
    assert set(SAME_IN_KOREAN) <= {k for k, _ in same}, "an allowed entry is translated now"


def test_keyboard_reset_and_config_change_restarts(live_server, page):
    open_page(page, live_server)
    page.keyboard.press("Space")
    page.wait_for_function("() => window.__dp.state.generation !== null")
    assert page.evaluate(STATUS) == "running"
    generation = page.evaluate("() => window.__dp.state.generation")
    # changing a setting while the race runs starts it again with the new setting
    page.select_option("#c-batch", "8")
    page.wait_for_function("(g) => window.__dp.state.generation > g", arg=generation)
    runs = page.evaluate("() => window.__dp.state.runs")
    assert runs[1]["batch_size"] == 8
    page.keyboard.press("Space")
    page.wait_for_function("() => document.body.dataset.status === 'paused'")
    # keys typed into a field are not shortcuts (the seed is under "More")
    page.click("#more > summary")
    page.click("#c-seed")
    page.keyboard.press("r")
    assert page.evaluate(STATUS) == "paused"
    page.click("#surface-title")
    page.keyboard.press("r")
    page.wait_for_function("() => document.body.dataset.status === 'idle'")
    # Reset sets up a fresh race, paused before its first step: surface, data and start point show
    page.wait_for_function(
        "(g) => { const s = window.__dp.state; return s.generation > g &&"
        " Object.values(s.counts).every(n => n === 0); }",
        arg=generation,
    )
    page.wait_for_selector("#surface-empty", state="hidden")
    assert page.inner_text("#btn-start") == "Start"
    assert page.console_errors == []


def test_classification_projected_surface_3d_and_batch_view(live_server, page, screenshot_dir):
    open_page(page, live_server)
    page.select_option("#c-dataset", "moons")
    assert page.input_value("#c-loss") == "binary_crossentropy"
    assert "binary" in page.inner_text("#loss-reason")
    set_value(page, "#c-hidden", "8")
    set_value(page, "#c-epochs", 200)
    start(page)
    page.wait_for_function("() => window.__dp.state.surfaceKind === 'projected'")
    page.wait_for_function(
        "() => document.getElementById('surface-caption').innerText.includes('A 2-D slice through')"
    )
    page.wait_for_function(
        "() => (window.__dp.plots.data.data || []).some(t => t.type === 'heatmap')", timeout=10_000
    )
    page.wait_for_timeout(1000)
    page.screenshot(path=screenshot_dir / "page-moons.png")
    page.click("#view-3d")
    page.wait_for_function("() => window.__dp.plots.surface.data?.[0]?.type === 'surface'")
    page.wait_for_timeout(1000)
    page.screenshot(path=screenshot_dir / "page-moons-3d.png")
    page.click("#view-contour")

    # back to the exact line: the batch's own surface on request
    page.select_option("#c-dataset", "linear")
    set_value(page, "#c-hidden", "")
    page.wait_for_function("() => window.__dp.state.surfaceKind === 'exact'", timeout=10_000)
    page.check("#batch-surface")
    page.wait_for_function(
        "() => { const d = window.__dp.plots.surfaceBackground.data; return !!d && !!d[1] && d[1].visible === true; }",
        timeout=10_000,
    )
    page.screenshot(path=screenshot_dir / "page-batch-surface.png")
    assert page.console_errors == []


def test_large_text_toggle(live_server, page, screenshot_dir):
    open_page(page, live_server)
    page.click("#btn-large")
    assert page.evaluate("() => document.body.classList.contains('large')")
    set_value(page, "#c-epochs", 200)
    start(page)
    page.wait_for_timeout(1500)
    page.screenshot(path=screenshot_dir / "page-large.png")
    page.click("#btn-large")
    assert not page.evaluate("() => document.body.classList.contains('large')")
    assert page.console_errors == []


def test_phone_layout_has_a_drawer(live_server, browser, screenshot_dir):
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        open_page(page, live_server)
        assert not page.is_visible("#c-dataset")
        assert page.is_visible("#drawer-toggle")
        assert page.is_visible("#btn-start")
        page.click("#drawer-toggle")
        assert page.is_visible("#c-dataset")
        page.screenshot(path=screenshot_dir / "page-phone-drawer.png")
        page.click("#drawer-close")
        assert not page.is_visible("#c-dataset")
        page.click("#btn-start")
        page.wait_for_function(
            "() => Object.values(window.__dp.state.counts).length === 3 &&"
            " Object.values(window.__dp.state.counts).every(v => v > 0)",
            timeout=15_000,
        )
        page.wait_for_timeout(1500)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 360, f"the page scrolls sideways: {width}px"
        page.screenshot(path=screenshot_dir / "page-phone.png", full_page=True)
        assert errors == []
    finally:
        context.close()


def test_a_server_cap_is_named_on_the_page_in_both_languages(page, screenshot_dir):
    """A server that allows 1,000 iterations per run refuses the default race (SGD: 2,000)."""
    from conftest import start_live_server

    with start_live_server(env={"DESCENT_MAX_ITERATIONS_PER_RUN": "1000"}, name="capped") as base:
        page.goto(base + "/?lang=ko")
        page.wait_for_function("() => window.__dp")
        page.click("button[data-lang='ko']")
        page.wait_for_selector("#notice", state="visible")
        text = page.inner_text("#notice-text")
        assert "이터레이션 수" in text and "1,000회" in text, text
        page.screenshot(path=screenshot_dir / "page-cap-ko.png")
        page.click("button[data-lang='en']")
        set_value(page, "#c-epochs", 30)
        page.click("#btn-start")
        page.wait_for_function(
            "() => document.querySelector('#notice-text').textContent.includes('DESCENT_MAX')")
        assert "at most 1,000 per run" in page.inner_text("#notice-text")
        set_value(page, "#c-epochs", 10)  # 1,000 iterations: allowed
        start(page)
        assert page.console_errors == []
