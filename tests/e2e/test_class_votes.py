"""A class vote in real Chromium: the teacher asks, two students vote on phones (390x844), the
teacher sees the counts as text and bars, reveals, the phones show the tally; then closes it.
Screenshots land in tests/artifacts/."""

from __future__ import annotations

import pytest
from test_classroom import PRIMED, new_page, open_primed

pytestmark = pytest.mark.e2e

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
QUESTION = {"en": ("Which run reaches the lowest loss first?", ["SGD", "Mini-batch", "Full batch"]),
            "ko": ("어느 실행이 가장 먼저 가장 낮은 손실에 닿을까요?", ["SGD", "미니배치", "전체 배치"])}
VOTED = {"en": "2 voted", "ko": "2명 응답"}
YOURS = {"en": "your answer", "ko": "내 답"}


def present_room(teacher) -> str:
    """Present (in either language); the room's viewer address."""
    teacher.click("#btn-present")
    teacher.wait_for_function("() => /\\d/.test(document.getElementById('dlg-watching')"
                              ".textContent)")
    url = teacher.input_value("#dlg-url")
    teacher.click("#dlg-close")
    return url


def ask(teacher, prompt: str, choices: list[str]) -> None:
    """Open "Ask the class", type the question and its choices, send it."""
    teacher.click("#btn-ask")
    teacher.wait_for_selector("#vote-dialog[open]")
    teacher.fill("#ask-prompt", prompt)
    for i, choice in enumerate(choices):
        teacher.fill(f"#ask-form fieldset label:nth-of-type({i + 1}) input", choice)
    teacher.click("#ask-form button[type=submit]")
    teacher.wait_for_selector("#vote-live:not([hidden])")


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_teacher_asks_two_phones_vote_the_teacher_sees_counts_and_reveals(
    live_server, browser, screenshot_dir, lang
):
    prompt, choices = QUESTION[lang]
    teacher = new_page(browser)
    locale = "ko-KR" if lang == "ko" else "en-US"  # a phone's own language
    phones = [new_page(browser, locale=locale, **PHONE) for _ in range(2)]
    try:
        open_primed(teacher, live_server + f"/?lang={lang}&epochs=6")
        assert not teacher.is_visible("#btn-ask")  # only while presenting
        viewer_url = present_room(teacher)
        assert teacher.is_visible("#btn-ask")
        for phone in phones:
            phone.goto(viewer_url)
            phone.wait_for_function(PRIMED, timeout=15_000)
            assert not phone.is_visible("#vote")

        # the browser refuses a question without two choices
        teacher.click("#btn-ask")
        teacher.fill("#ask-prompt", prompt)
        teacher.click("#ask-form button[type=submit]")
        assert teacher.is_visible("#ask-form") and not teacher.is_visible("#vote-live")
        teacher.keyboard.press("Escape")

        ask(teacher, prompt, choices)
        assert teacher.inner_text("#vote-prompt") == prompt
        assert teacher.inner_text("#vote-voters") == VOTED[lang].replace("2", "0")
        teacher.screenshot(path=screenshot_dir / f"vote-asked-{lang}.png")

        for phone in phones:
            phone.wait_for_selector("#vote:not([hidden])")
            assert phone.inner_text("#vote-q") == prompt
            buttons = phone.locator("#vote-choices button")
            assert buttons.count() == 3
            for k in range(3):  # large targets on a phone
                box = buttons.nth(k).bounding_box()
                assert box["width"] >= 44 and box["height"] >= 44, box
            assert "%" not in phone.inner_text("#vote")  # no tally before the reveal

        phones[0].locator("#vote-choices button").nth(1).tap()
        phones[1].locator("#vote-choices button").nth(0).tap()
        phones[1].locator("#vote-choices button").nth(2).tap()  # changes their mind
        for phone, mine in ((phones[0], 1), (phones[1], 2)):
            # the server's `voted` marks it (for phone 1: its second vote, once answered)
            pressed = phone.locator(f"#vote-choices li:nth-child({mine + 1}) "
                                    "button[aria-pressed=true]")
            pressed.wait_for()
            assert phone.locator("#vote-choices button[aria-pressed=true]").count() == 1
            assert YOURS[lang] in pressed.inner_text()  # marked in words, not by colour only
        phones[0].screenshot(path=screenshot_dir / f"vote-phone-{lang}.png")

        # the counts as votes arrive (phone 2's first vote may show before the one replacing it)
        teacher.wait_for_function("() => [...document.querySelectorAll('#vote-bars .bar b')]"
                                  ".map(b => b.textContent).join('|') === '0 · 0%|1 · 50%|1 · 50%'")
        assert teacher.inner_text("#vote-voters") == VOTED[lang]
        assert teacher.inner_text("#btn-ask") == VOTED[lang]
        teacher.screenshot(path=screenshot_dir / f"vote-counts-{lang}.png")

        teacher.click("#vote-reveal")
        for phone in phones:
            phone.wait_for_function("(t) => document.querySelector('#vote [role=status]')"
                                    ".textContent === t", arg=VOTED[lang])
            bars = phone.locator("#vote-choices .bar b")
            assert [bars.nth(k).inner_text() for k in range(3)] == ["0 · 0%", "1 · 50%", "1 · 50%"]
        assert teacher.is_disabled("#vote-reveal")
        phones[0].screenshot(path=screenshot_dir / f"vote-phone-revealed-{lang}.png")

        teacher.click("#vote-close")
        teacher.wait_for_selector("#ask-form:not([hidden])")
        for phone in phones:
            phone.wait_for_selector("#vote", state="hidden")
        for page in (teacher, *phones):
            assert not page.console_errors, page.console_errors
    finally:
        for page in (teacher, *phones):
            page.context.close()


def test_open_ask_prefills_the_form_for_a_lesson_step(live_server, browser):
    teacher = new_page(browser)
    try:
        open_primed(teacher, live_server + "/?lang=en")
        present_room(teacher)
        teacher.evaluate("() => window.__dp.vote.openAsk({prompt: 'Diverges?', "
                         "choices: ['yes', 'no']})")
        teacher.wait_for_selector("#vote-dialog[open]")
        assert teacher.input_value("#ask-prompt") == "Diverges?"
        teacher.click("#ask-form button[type=submit]")
        teacher.wait_for_selector("#vote-live:not([hidden])")
        assert teacher.locator("#vote-bars .bar").count() == 2
    finally:
        teacher.context.close()


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_lesson_steps_question_is_asked_and_voted_on(live_server, browser, lang):
    """The whole lesson with a class voting: "Ask the class" opens on the open step's question,
    in the page's language, and a phone answers it; Next brings the next step's question."""
    lesson = live_server + f"/?lang={lang}&lesson=how-a-network-learns&step=1"
    steps = browser.new_context().request.get(
        live_server + "/api/lessons/how-a-network-learns").json()["steps"]
    teacher, phone = new_page(browser), new_page(browser, **PHONE)
    try:
        open_primed(teacher, lesson)
        viewer_url = present_room(teacher)
        phone.goto(viewer_url)
        phone.wait_for_function(PRIMED, timeout=15_000)
        for k in (0, 1):
            question = steps[k]["question"]
            teacher.click("#btn-ask")
            teacher.wait_for_selector("#vote-dialog[open]")
            assert teacher.input_value("#ask-prompt") == question["prompt"][lang]
            for i, choice in enumerate(question["choices"]):
                box = f"#ask-form fieldset label:nth-of-type({i + 1}) input"
                assert teacher.input_value(box) == choice[lang]
            teacher.click("#ask-form button[type=submit]")
            teacher.wait_for_selector("#vote-live:not([hidden])")
            phone.wait_for_function(
                "(p) => document.getElementById('vote-q').textContent === p",
                arg=question["prompt"][lang])
            phone.locator("#vote-choices button").nth(0).tap()
            teacher.wait_for_function(
                "() => /^1\\b/.test(document.querySelector('#vote-bars b')?.textContent || '')")
            teacher.click("#vote-close")
            teacher.keyboard.press("Escape")
            teacher.wait_for_selector("#vote-dialog:not([open])", state="attached")
            teacher.click("#lesson-next")
            teacher.wait_for_function(
                "(t) => document.getElementById('lesson-step').textContent === t",
                arg=steps[k + 1]["title"][lang])
        assert teacher.console_errors == [] and phone.console_errors == []
    finally:
        teacher.context.close()
        phone.context.close()
