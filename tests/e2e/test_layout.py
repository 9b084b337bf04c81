"""The page at projector sizes in real Chromium (issue 12, points 3 and 6): at 1280x720 and
1024x768 "One step, opened up" shows its four phases whole (no scrolling inside a panel), the
subtitle clears step 1, the loss chart keeps a plot of at least 180 px and the top bar takes at
most ~15 % of the height; at 1440x900 the data view of a two-feature set is at least 300 px
square, its tick labels clear of the axis titles. Screenshots land in tests/artifacts/."""

from __future__ import annotations

import pytest
from test_classroom import new_page
from test_page import open_page, set_value

pytestmark = pytest.mark.e2e

# the boxes the checks compare, as [left, top, right, bottom] in CSS pixels
BOXES = """() => {
  const box = (e) => { const b = e.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; };
  const step = document.querySelector('.p-step');
  return {
    viewport: [0, 0, innerWidth, innerHeight],
    topbar: box(document.querySelector('.topbar')),
    panel: box(step),
    scroll: [step.scrollHeight, step.clientHeight],
    pageScroll: [document.documentElement.scrollHeight, innerHeight],
    phases: [...document.querySelectorAll('#step-body .phase')].map(box),
    sub: box(document.getElementById('step-sub')),
  };
}"""

DATA_BOXES = """() => {
  const root = document.getElementById('data-plot');
  const shown = (sel) => [...root.querySelectorAll(sel)]
    .map((e) => e.getBoundingClientRect()).filter((b) => b.width > 0 && b.height > 0)
    .map((b) => [b.left, b.top, b.right, b.bottom]);
  return { drag: shown('.nsewdrag'), xticks: shown('.xtick text'), yticks: shown('.ytick text'),
           xtitle: shown('.g-xtitle text'), ytitle: shown('.g-ytitle text') };
}"""


def sized_page(browser, width, height):
    """test_classroom's page (console errors collected) at width x height; (context, page)."""
    page = new_page(browser, viewport={"width": width, "height": height})
    return page.context, page


def race(page, dataset=None, hidden=""):
    """Start a long race (dataset and hidden layers as given) and wait for the four phases."""
    if dataset:
        page.select_option("#c-dataset", dataset)
        page.wait_for_function(f"() => document.getElementById('c-dataset').value === '{dataset}'")
    set_value(page, "#c-hidden", hidden)
    set_value(page, "#c-epochs", 300)
    page.click("#btn-start")
    if dataset:  # this race's data (not the last one's) in the state and in the data view
        page.wait_for_function(
            "(ds) => window.__dp.state.dataset && window.__dp.state.dataset.name === ds &&"
            " [window.__dp.plots.data, window.__dp.plots.dataTop].every("
            "   (p) => p.layout && p.layout.uirevision === ds)",
            arg=dataset, timeout=20_000,
        )
    page.wait_for_function(
        "() => document.querySelectorAll('#step-body .phase').length === 4", timeout=20_000
    )
    page.wait_for_timeout(600)  # a few frames, so the panels hold what they show while running


def inside(inner, outer, slack=0.5):
    return (inner[0] >= outer[0] - slack and inner[1] >= outer[1] - slack
            and inner[2] <= outer[2] + slack and inner[3] <= outer[3] + slack)


def overlap(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def check_step_is_whole(page, height):
    b = page.evaluate(BOXES)
    assert len(b["phases"]) == 4
    scroll_h, client_h = b["scroll"]
    assert scroll_h <= client_h + 1, f"the step panel scrolls inside: {scroll_h} > {client_h}"
    for k, phase in enumerate(b["phases"], 1):
        assert inside(phase, b["viewport"]), f"step {k} {phase} is outside the window"
        assert inside(phase, b["panel"]), f"step {k} {phase} is outside its panel {b['panel']}"
    assert not overlap(b["sub"], b["phases"][0]), (b["sub"], b["phases"][0])
    top = b["topbar"][3] - b["topbar"][1]
    assert top <= 0.15 * height, f"the controls take {top:.0f} px of {height} ({top / height:.0%})"
    # nothing below the fold either: the page fits the projector
    assert b["pageScroll"][0] <= height + 1, b["pageScroll"]


# the height of the loss chart's drawing area (its drag layer), in CSS pixels
LOSS_PLOT_HEIGHT = """() => Math.max(0, ...[...document.querySelectorAll('#loss-plot .nsewdrag')]
  .map((e) => e.getBoundingClientRect().height))"""


def check_loss_is_readable(page):
    """The race's panel (its head's buttons, a spec line and the arithmetic on every card) leaves
    the loss chart a readable plot: at least 180 px high."""
    page.wait_for_function(f"() => ({LOSS_PLOT_HEIGHT})() > 0")
    height = page.evaluate(LOSS_PLOT_HEIGHT)
    assert height >= 180, f"the loss chart's plot is {height:.0f} px high"


@pytest.mark.parametrize("size", [(1280, 720), (1024, 768)], ids=["1280x720", "1024x768"])
def test_one_step_is_whole_at_projector_sizes(live_server, browser, screenshot_dir, size):
    """The default race (a line, ŷ = w·x + b) and circles with a hidden layer of 8."""
    width, height = size
    context, page = sized_page(browser, width, height)
    try:
        open_page(page, live_server)
        for dataset, hidden in ((None, ""), ("circles", "8")):
            race(page, dataset, hidden)
            page.screenshot(path=screenshot_dir / f"layout-{width}x{height}-{dataset or 'default'}.png")
            check_step_is_whole(page, height)
            check_loss_is_readable(page)
            page.click("#btn-reset")
        assert page.console_errors == []
    finally:
        context.close()


def test_more_holds_the_rare_fields_and_works_from_the_keyboard(live_server, browser):
    context, page = sized_page(browser, 1280, 720)
    try:
        open_page(page, live_server)
        for field in ("#c-activation", "#c-seed", "#c-target", "#c-patience", "#c-pacing"):
            assert not page.is_visible(field), field
        assert page.inner_text("#more > summary").startswith("More")
        page.focus("#more > summary")
        page.keyboard.press("Space")  # opens More; does not start the race
        assert page.is_visible("#c-seed") and page.is_visible("#c-pacing")
        assert page.evaluate("() => document.body.dataset.status") == "idle"
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.id") == "c-activation"
        page.keyboard.press("Escape")
        assert not page.is_visible("#c-seed")
        assert page.evaluate("() => document.activeElement.tagName") == "SUMMARY"
        page.keyboard.press("Enter")
        assert page.is_visible("#c-seed")
        page.click("#surface-title")  # a click elsewhere closes it
        assert not page.is_visible("#c-seed")
        page.click("[data-lang=ko]")
        assert page.inner_text("#more > summary").startswith("더 보기")
        assert page.get_attribute("#more .more-pop", "aria-label") == "추가 설정"
        assert page.console_errors == []
    finally:
        context.close()


def test_the_data_view_is_a_real_square_with_clear_ticks(live_server, browser, screenshot_dir):
    """Every two-feature set at 1440x900: the plot's drawing area (its drag layer) is at least
    300 px square, and no tick label runs into an axis title or into another tick label."""
    context, page = sized_page(browser, 1440, 900)
    try:
        open_page(page, live_server)
        for dataset in ("circles", "moons", "xor", "spiral", "blobs"):
            race(page, dataset, "8")
            b = page.evaluate(DATA_BOXES)
            page.screenshot(path=screenshot_dir / f"layout-data-{dataset}.png",
                            clip=page.locator(".p-data").bounding_box())
            left, top, right, bottom = b["drag"][0]
            size = f"{dataset}: the plot is {right - left:.0f} x {bottom - top:.0f} px"
            assert right - left >= 300 and bottom - top >= 300, size
            assert len(b["xticks"]) >= 3 and len(b["yticks"]) >= 3, b
            assert len(b["xtitle"]) == 1 and len(b["ytitle"]) == 1, b
            for tick in b["xticks"] + b["yticks"]:
                for title in b["xtitle"] + b["ytitle"]:
                    assert not overlap(tick, title), f"{dataset}: tick {tick} runs into title {title}"
            for a, c in zip(b["xticks"], b["xticks"][1:], strict=False):
                assert not overlap(a, c), f"{dataset}: x tick labels overlap: {a} {c}"
            page.click("#btn-reset")
        assert page.console_errors == []
    finally:
        context.close()
