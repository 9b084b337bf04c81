"""The form's errors and hints in real Chromium against the real app (issue 12, points 4 and 9):
a wrong value is said under its field, with the page's label and the range, in English and
Korean; the field is marked; nothing typed changes; nothing wrong is sent. A set no straight
line can split gets a hidden layer, and the page says why."""

from __future__ import annotations

import json
import re

import pytest

pytestmark = pytest.mark.e2e

LABELS = {"en": {"c-lr": "Learning rate", "c-samples": "Samples", "c-hidden": "Hidden layers",
                 "c-seed": "Seed", "c-epochs": "Epochs", "c-noise": "Noise",
                 "c-target": "Target loss", "c-patience": "Patience"},
          "ko": {"c-lr": "학습률", "c-samples": "데이터 크기", "c-hidden": "은닉층", "c-seed": "시드",
                 "c-epochs": "에폭", "c-noise": "노이즈", "c-target": "목표 손실",
                 "c-patience": "조기 종료 (에폭)"}}

# The boxes of every other visible control of the form (and the 2/λ_max label) that the
# message of field `id` overlaps. The fields of a closed "More" keep boxes in Chromium but are
# not shown (checkVisibility); those of an open "More" are a pop-up over the bar, so they are
# compared only with a message inside it.
OVERLAPS = """(id) => {
  const m = document.getElementById(id + '-msg').getBoundingClientRect();
  const own = document.getElementById(id).closest('.field');
  const pop = own.closest('.more-pop');
  const others = [...document.querySelectorAll('#controls .field, #controls input, #controls select,'
    + ' #controls button, #lr-mark-label')].filter(e => e.id === 'lr-mark-label' || !own.contains(e))
    .filter(e => e.checkVisibility() && !!pop === !!e.closest('.more-pop'));
  return others.filter(e => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && r.left < m.right && m.left < r.right && r.top < m.bottom && m.top < r.bottom;
  }).map(e => e.id || e.className);
}"""
SENT = "() => JSON.parse(window.__dp.state.sent)"


def open_page(page, base_url, lang):
    page.goto(f"{base_url}/?lang={lang}")
    page.wait_for_function(
        "() => window.__dp && document.querySelectorAll('#c-dataset option').length > 0"
        " && window.__dp.state.sent !== undefined && window.__dp.state.generation !== null"
    )


def show(page, selector):
    """Open "More" if the field is folded in it (as a user would, by its summary)."""
    if page.evaluate("(s) => !!document.querySelector(s).closest('details:not([open])')", selector):
        page.click("#more > summary")


def type_into(page, selector, value):
    show(page, selector)
    page.fill(selector, value)
    page.dispatch_event(selector, "change")


def message(page, field):
    return page.inner_text(f"#{field}-msg")


def assert_said(page, field, value, lang, *words):
    """Field `field` holds `value` untouched, is marked, and says so next to itself."""
    show(page, f"#{field}")
    assert page.input_value(f"#{field}") == value
    assert page.get_attribute(f"#{field}", "aria-invalid") == "true"
    assert f"{field}-msg" in (page.get_attribute(f"#{field}", "aria-describedby") or "").split()
    page.wait_for_selector(f"#{field}-msg", state="visible")
    text = message(page, field)
    assert LABELS[lang][field] in text, text
    for word in words:
        assert word in text, (word, text)
    assert "⚠" in text  # not colour alone
    assert page.evaluate(OVERLAPS, field) == []
    assert page.is_hidden("#notice")  # nothing covers the fields


def assert_nothing_sent_on_start(page, field, before):
    """Start with a wrong field sends nothing: the field gets the focus, the race stays idle."""
    page.click("#btn-start")
    page.wait_for_function("(f) => document.activeElement && document.activeElement.id === f", arg=field)
    assert page.evaluate(SENT) == before
    assert page.evaluate("() => document.body.dataset.status") == "idle"


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_wrong_learning_rate_is_said_and_kept(live_server, page, lang, screenshot_dir):
    open_page(page, live_server, lang)
    before = page.evaluate(SENT)
    slider = page.input_value("#c-lr-range")
    for value in ("-1", "0", "", "1e9"):
        type_into(page, "#c-lr", value)
        assert_said(page, "c-lr", value, lang, "0", "10")
        assert page.input_value("#c-lr-range") == slider  # the slider does not move either
        assert_nothing_sent_on_start(page, "c-lr", before)
    page.screenshot(path=screenshot_dir / f"form-lr-{lang}.png")
    # typing a right value clears the message at once, before the field is left
    page.fill("#c-lr", "0.05")
    page.wait_for_selector("#c-lr-msg", state="hidden")
    assert page.get_attribute("#c-lr", "aria-invalid") is None
    page.dispatch_event("#c-lr", "change")
    page.wait_for_function("() => JSON.parse(window.__dp.state.sent).lr === 0.05")
    assert page.input_value("#c-lr") == "0.05"
    assert page.console_errors == []


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_wrong_samples_and_hidden_layers_are_said_with_the_range(live_server, page, lang,
                                                                 screenshot_dir):
    open_page(page, live_server, lang)
    before = page.evaluate(SENT)
    for value in ("-1", "99999", "2.5", ""):
        type_into(page, "#c-samples", value)
        assert_said(page, "c-samples", value, lang, "1", "5,000")
        assert_nothing_sent_on_start(page, "c-samples", before)
    if lang == "en":
        assert message(page, "c-samples") == "⚠ Samples must be a whole number from 1 to 5,000."
    type_into(page, "#c-samples", "200")
    page.wait_for_selector("#c-samples-msg", state="hidden")
    page.wait_for_function("() => JSON.parse(window.__dp.state.sent).n_samples === 200")
    before = page.evaluate(SENT)
    for value in ("8,x", "20", "1,1,1,1,1", "0"):
        type_into(page, "#c-hidden", value)
        assert_said(page, "c-hidden", value, lang, "1", "16", "4")
        assert_nothing_sent_on_start(page, "c-hidden", before)
    page.screenshot(path=screenshot_dir / f"form-hidden-{lang}.png")
    type_into(page, "#c-hidden", "4, 4")
    page.wait_for_selector("#c-hidden-msg", state="hidden")
    page.wait_for_function("() => JSON.parse(window.__dp.state.sent).hidden.join() === '4,4'")
    assert page.evaluate(SENT)["n_samples"] == 200
    assert page.console_errors == []


def test_every_typed_field_names_itself_and_its_range(live_server, page):
    open_page(page, live_server, "en")
    cases = [("c-seed", "-1", ["0", "4,294,967,295"]), ("c-epochs", "0", ["1", "1,000"]),
             ("c-noise", "3", ["0", "2"]), ("c-target", "-1", ["0", "1,000,000", "off"]),
             ("c-patience", "2.5", ["1", "1,000", "off"])]
    for field, value, words in cases:
        type_into(page, f"#{field}", value)
        assert_said(page, field, value, "en", *words)
    page.click("button[data-lang='ko']")  # the messages follow the language
    for field, value, words in cases:
        assert_said(page, field, value, "ko", *[w for w in words if w != "off"])
    # empty target loss and patience are "off", not wrong
    for field in ("c-target", "c-patience"):
        type_into(page, f"#{field}", "")
        page.wait_for_selector(f"#{field}-msg", state="hidden")
    assert page.console_errors == []


def test_a_wrong_field_opens_the_phone_drawer_at_that_field(live_server, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        open_page(page, live_server, "en")
        page.click("#drawer-toggle")
        type_into(page, "#c-samples", "-1")
        page.click("#drawer-close")
        page.click("#btn-start")
        page.wait_for_function("() => document.body.classList.contains('drawer-open')")
        page.wait_for_function("() => document.activeElement.id === 'c-samples'")
        assert page.is_visible("#c-samples-msg")
        assert page.evaluate(OVERLAPS, "c-samples") == []
    finally:
        context.close()


def test_a_wrong_field_in_more_opens_more_at_that_field(live_server, page):
    """A wrong rare field (here the seed, folded in "More") is not left hidden: Start opens
    More, focuses the field and shows its message; nothing is sent."""
    open_page(page, live_server, "en")
    before = page.evaluate(SENT)
    type_into(page, "#c-seed", "-1")
    page.click("#surface-title")  # a click elsewhere folds More again
    assert not page.is_visible("#c-seed")
    assert_nothing_sent_on_start(page, "c-seed", before)
    assert page.evaluate("() => document.getElementById('more').open")
    assert page.is_visible("#c-seed-msg")
    assert page.evaluate(OVERLAPS, "c-seed") == []
    assert page.console_errors == []


def changing_starts(page, change):
    """The page's socket to the real server, with `change` applied to each start's config on
    its way (the page itself never sends a wrong value)."""
    def route(ws):
        server = ws.connect_to_server()

        def to_server(text):
            msg = json.loads(text)
            if msg.get("type") == "start":
                msg["config"].update(change)
            server.send(json.dumps(msg))

        ws.on_message(to_server)

    page.route_web_socket(re.compile(r"/ws/train$"), route)


def test_a_refusal_of_the_server_is_said_at_its_field(live_server, page):
    """Should a start reach the server with a wrong value, the server's `field` leads the
    message to the page's field, in the page's words."""
    change = {}
    changing_starts(page, change)
    open_page(page, live_server, "en")
    change["n_samples"] = 99999
    type_into(page, "#c-seed", "1")  # a new start
    page.wait_for_function("() => window.__dp.state.lastError !== null")
    assert page.evaluate("() => window.__dp.state.lastError.field") == "config.n_samples"
    assert_said(page, "c-samples", "100", "en", "1", "5,000")
    change.clear()
    page.fill("#c-samples", "120")  # right: the mark goes
    page.wait_for_selector("#c-samples-msg", state="hidden")
    assert page.console_errors == []


def test_a_refusal_naming_no_field_of_the_form_is_a_notice_that_closes(live_server, page):
    change = {}
    changing_starts(page, change)
    open_page(page, live_server, "en")
    change["dataset"] = "nope"
    type_into(page, "#c-seed", "1")
    page.wait_for_selector("#notice", state="visible")
    assert "nope" in page.inner_text("#notice-text")
    page.click("#notice-close")
    page.wait_for_selector("#notice", state="hidden")
    assert page.evaluate("() => document.body.dataset.status") == "idle"
    assert page.console_errors == []


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_set_no_line_can_split_gets_a_hidden_layer_and_says_why(live_server, page, lang,
                                                                   screenshot_dir):
    open_page(page, live_server, lang)
    assert page.input_value("#c-hidden") == ""
    name = {"en": "circles", "ko": "동심원"}[lang]
    page.select_option("#c-dataset", "circles")
    assert page.input_value("#c-hidden") == "8"
    page.wait_for_selector("#c-hidden-msg", state="visible")
    text = message(page, "c-hidden")
    assert name in text and LABELS[lang]["c-hidden"] in text and "8" in text, text
    assert page.get_attribute("#c-hidden", "aria-invalid") is None  # a hint, not an error
    assert page.evaluate(OVERLAPS, "c-hidden") == []
    page.wait_for_function(
        "() => { const c = JSON.parse(window.__dp.state.sent); return c.dataset === 'circles'"
        " && c.hidden.join() === '8'; }")
    page.screenshot(path=screenshot_dir / f"form-hint-{lang}.png")
    # the spiral needs more; the layer put in follows the set
    page.select_option("#c-dataset", "spiral")
    assert page.input_value("#c-hidden") == "16,16"
    # the user may still take it out: the page keeps the empty field and suggests
    type_into(page, "#c-hidden", "")
    page.wait_for_function("() => document.getElementById('c-hidden-msg').textContent.includes('16,16')")
    assert page.input_value("#c-hidden") == ""
    page.wait_for_function(
        "() => { const c = JSON.parse(window.__dp.state.sent); return c.dataset === 'spiral'"
        " && c.hidden.length === 0; }")
    # back on circles the hint returns; a line's set takes back only what the page put in
    page.select_option("#c-dataset", "circles")
    assert page.input_value("#c-hidden") == "8"
    page.select_option("#c-dataset", "linear")
    assert page.input_value("#c-hidden") == ""
    assert page.is_visible("#c-hidden-msg")
    type_into(page, "#c-hidden", "4")
    page.wait_for_selector("#c-hidden-msg", state="hidden")
    page.select_option("#c-dataset", "xor")
    assert page.input_value("#c-hidden") == "4"  # the user's own layers stay
    assert page.is_hidden("#c-hidden-msg")
    # the hint, once read, gives its room back when the race starts
    type_into(page, "#c-hidden", "")
    page.select_option("#c-dataset", "circles")
    page.wait_for_selector("#c-hidden-msg", state="visible")
    page.click("#btn-start")
    page.wait_for_selector("#c-hidden-msg", state="hidden")
    assert page.input_value("#c-hidden") == "8"
    assert page.console_errors == []


def test_a_link_to_circles_without_hidden_layers_is_kept_and_gets_a_suggestion(live_server, page):
    page.goto(live_server + "/?dataset=circles&lang=en")
    page.wait_for_function("() => window.__dp && window.__dp.state.generation !== null")
    assert page.input_value("#c-dataset") == "circles"
    assert page.input_value("#c-hidden") == ""  # the link's model, as it asked
    page.wait_for_selector("#c-hidden-msg", state="visible")
    assert "try" in message(page, "c-hidden") and "8" in message(page, "c-hidden")
    assert page.evaluate(SENT)["hidden"] == []
    assert page.console_errors == []
