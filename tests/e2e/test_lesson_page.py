"""The lesson strip in real Chromium (issue 15): a link opens a step with its config loaded and
primed, Next loads the next one, the Lessons menu opens a lesson, a room's viewers show the
presenter's step, and "Ask the class" can read the step's question."""

from __future__ import annotations

import pytest
from test_classroom import PRIMED, new_page

from app.core.settings import Settings
from app.lessons import load_lessons

pytestmark = pytest.mark.e2e

ID = "how-a-network-learns"
LESSON = load_lessons(Settings())[ID]
SIZES = {"1440": (1440, 900), "1280": (1280, 720), "phone": (390, 844)}
STEP_IS = "(want) => document.getElementById('lesson-step').textContent === want"
DATA = "() => window.__dp.state.config && window.__dp.state.config.data"
QUESTION = "() => import('/static/js/lessons.js').then((m) => m.currentQuestion())"


def primed_with(page, n_samples: int) -> None:
    """The step's config is on the form and the server's paused start of it has arrived."""
    page.wait_for_function(
        f"() => ({PRIMED})() && window.__dp.state.config.n_samples === {n_samples}"
        " && !window.__dp.state.awaitingStart && document.body.dataset.status === 'idle'",
        timeout=15_000)


def primed_on_custom(page, n: int) -> None:
    """As `primed_with`, for a step on its own `n` points (dataset "custom")."""
    page.wait_for_function(
        f"() => ({PRIMED})() && ({DATA})()?.X.length === {n}"
        f" && window.__dp.state.dataset.n_samples === {n}"
        " && !window.__dp.state.awaitingStart && document.body.dataset.status === 'idle'",
        timeout=15_000)


def form(page) -> dict:
    return page.evaluate("""() => ({samples: document.getElementById('c-samples').value,
      lr: document.getElementById('c-lr').value, epochs: document.getElementById('c-epochs').value,
      seed: document.getElementById('c-seed').value, loss: document.getElementById('c-loss').value})""")


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_lesson_link_opens_its_step_and_next_loads_the_next_steps_config(live_server, browser,
                                                                         lang, screenshot_dir):
    page = new_page(browser)
    try:
        page.goto(f"{live_server}/?lesson={ID}&step=1&lang={lang}")
        first, second = LESSON.steps[0], LESSON.steps[1]
        page.wait_for_function(STEP_IS, arg=getattr(first.title, lang))
        primed_with(page, 20)
        assert page.is_visible("#lesson") and page.is_disabled("#lesson-prev")
        assert page.inner_text("#lesson-text") == getattr(first.text, lang).replace("\n", " ")
        pos = page.inner_text("#lesson-pos")
        assert getattr(LESSON.title, lang) in pos and "1" in pos and "11" in pos
        assert form(page) | {"loss": "mse"} == {"samples": "20", "lr": "0.2", "epochs": "30",
                                               "seed": "0", "loss": "mse"}
        question = page.evaluate(QUESTION)
        assert question == {"prompt": getattr(first.question.prompt, lang),
                            "choices": [getattr(c, lang) for c in first.question.choices]}

        page.click("#lesson-next")
        page.wait_for_function(STEP_IS, arg=getattr(second.title, lang))
        primed_on_custom(page, 12)  # paused, ready to Start: nothing ran
        assert {k: v for k, v in form(page).items() if k != "samples"} == {
            "lr": "0.3", "epochs": "150", "seed": "0", "loss": "mse"}
        custom = second.config.data
        assert page.evaluate(DATA) == custom.model_dump()  # the step's own points, as written
        assert page.input_value("#c-dataset") == "custom" and page.is_visible("#cd")
        assert not page.is_checked("#cd-std")  # x used as given, as the text says
        # the data view draws exactly those 12 points, the outlier (0.9, -3) among them
        markers = ("() => [window.__dp.plots.data, window.__dp.plots.dataTop]"
                   ".flatMap((p) => p.data || []).find((t) => t.mode === 'markers' && t.x.length === 12)")
        page.wait_for_function(markers)  # the plots take turns: the data view's comes
        drawn = page.evaluate(markers)
        assert sorted(zip(drawn["x"], drawn["y"], strict=True)) == sorted(
            (row[0], y) for row, y in zip(custom.X, custom.y, strict=True))
        assert page.evaluate("() => Object.values(window.__dp.state.counts).every(n => n === 0)")
        page.wait_for_function(f"() => location.search.endsWith('&lesson={ID}&step=2')")
        assert not page.is_disabled("#lesson-prev")
        assert page.evaluate(QUESTION)["prompt"] == getattr(second.question.prompt, lang)
        assert page.console_errors == []
        for name, (width, height) in SIZES.items():
            page.set_viewport_size({"width": width, "height": height})
            page.wait_for_timeout(300)
            page.screenshot(path=str(screenshot_dir / f"lesson-{name}-{lang}.png"))
    finally:
        page.context.close()


def test_the_lessons_menu_opens_the_first_step_and_close_leaves_the_lesson(live_server, browser,
                                                                          screenshot_dir):
    page = new_page(browser)
    try:
        page.goto(f"{live_server}/?lang=en")
        page.wait_for_function(PRIMED, timeout=15_000)
        assert page.is_hidden("#lesson") and page.evaluate(QUESTION) is None
        page.click("#btn-lessons")
        page.wait_for_selector("#lessons-dlg[open]")
        page.screenshot(path=str(screenshot_dir / "lessons-dialog-1440-en.png"))
        page.click(f"#lessons-list button:has-text('{LESSON.title.en}')")
        page.wait_for_function(STEP_IS, arg=LESSON.steps[0].title.en)
        primed_with(page, 20)
        assert not page.evaluate("() => document.getElementById('lessons-dlg').open")
        page.wait_for_function(f"() => location.search.endsWith('&lesson={ID}&step=1')")
        page.click("#lesson-close")
        assert page.is_hidden("#lesson") and page.evaluate(QUESTION) is None
        page.wait_for_function("() => !location.search.includes('lesson=')")
        assert page.console_errors == []
    finally:
        page.context.close()


def test_a_viewer_shows_the_presenters_step_in_its_own_language(live_server, browser,
                                                               screenshot_dir):
    teacher = new_page(browser)
    phone = new_page(browser, viewport={"width": 390, "height": 844}, is_mobile=True,
                     has_touch=True, locale="ko-KR")  # a viewer's page follows its browser
    try:
        teacher.goto(f"{live_server}/?lesson={ID}&step=9&lang=en")
        primed_with(teacher, 1000)
        teacher.click("#btn-present")
        teacher.wait_for_function(
            "() => /^[A-Z0-9]{5}$/.test(document.getElementById('dlg-code').textContent)")
        viewer_url = teacher.input_value("#dlg-url")
        teacher.keyboard.press("Escape")
        phone.goto(viewer_url)
        phone.wait_for_function(STEP_IS, arg=LESSON.steps[8].title.ko, timeout=15_000)
        assert phone.is_hidden("#lesson-next") and phone.is_hidden("#lesson-prev")
        assert phone.inner_text("#lesson-text") == LESSON.steps[8].text.ko.replace("\n", " ")
        phone.screenshot(path=str(screenshot_dir / "lesson-viewer-phone-ko.png"))
        teacher.click("#lesson-next")
        phone.wait_for_function(STEP_IS, arg=LESSON.steps[9].title.ko, timeout=15_000)
        teacher.click("#lesson-close")
        teacher.click("#btn-reset")  # the next start names no step: the viewers' strip goes
        phone.wait_for_selector("#lesson", state="hidden", timeout=15_000)
        assert teacher.console_errors == [] and phone.console_errors == []
    finally:
        teacher.context.close()
        phone.context.close()
