"""The plots' labels in real Chromium: no two overlap (their boxes as drawn), on the loss chart
and on the surface, mid-race, at the end and when runs diverge; and a network's projected
surface moves to the plane of its paths by itself, with a caption in plain words."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

DONE = "() => document.body.dataset.status === 'done'"
# Every drawn label of a plot: Plotly's text points and annotations, as boxes on the screen.
BOXES = """(sel) => [...document.querySelectorAll(`${sel} .textpoint text, ${sel} g.annotation`)]
  .filter((e) => e.textContent.trim())
  .map((e) => { const r = e.getBoundingClientRect();
    return { text: e.textContent, x0: r.left, y0: r.top, x1: r.right, y1: r.bottom }; })
  .filter((b) => b.x1 > b.x0 && b.y1 > b.y0)"""


def overlaps(page, plot: str) -> list[tuple[str, str]]:
    """The pairs of labels of `plot` whose boxes intersect."""
    boxes = page.evaluate(BOXES, plot)
    assert boxes, f"no labels drawn in {plot}"
    return [
        (a["text"], b["text"])
        for k, a in enumerate(boxes) for b in boxes[k + 1:]
        if a["x0"] < b["x1"] and b["x0"] < a["x1"] and a["y0"] < b["y1"] and b["y0"] < a["y1"]
    ]


def labels(page, plot: str) -> list[str]:
    """The labels' texts, without the run's marker glyph an end label starts with."""
    return [b["text"].lstrip("●■◆▲✚★ ") for b in page.evaluate(BOXES, plot)]


def assert_clear(page, when: str) -> None:
    for plot in ("#surface-plot", "#loss-plot"):  # the plots take turns: each has drawn its labels
        page.wait_for_function(f"() => ({BOXES})('{plot}').length > 0")
    page.wait_for_timeout(150)  # the frame after the last message is drawn
    for plot in ("#surface-plot", "#loss-plot"):
        assert overlaps(page, plot) == [], f"{when}: overlapping labels in {plot}"


def test_labels_never_overlap_in_the_default_race(live_server, page, screenshot_dir):
    page.goto(live_server + "/?autoplay=1")
    seen = set()
    for until in (20, 60, 100, 160, 240):  # mid-race: Full batch and Mini-batch end on the way
        page.wait_for_function(
            "(n) => (window.__dp.state.iterations.SGD || 0) >= n", arg=until, timeout=30_000)
        assert_clear(page, f"SGD at iteration {until}")
        seen.update(labels(page, "#surface-plot"))
    assert {"start", "minimum"} <= seen
    page.screenshot(path=screenshot_dir / "labels-default-mid.png")
    page.goto(live_server + "/?autoplay=1&speed=0")
    page.wait_for_function(DONE, timeout=60_000)
    assert_clear(page, "at the end")
    assert "SGD" in labels(page, "#loss-plot")
    page.screenshot(path=screenshot_dir / "labels-default-done.png")
    # a projector's resolution: the plots shrink, their labels are placed again
    surface_width = page.evaluate("() => window.__dp.plots.surface._fullLayout.width")
    page.set_viewport_size({"width": 1280, "height": 720})
    page.wait_for_function("(w) => window.__dp.plots.surface._fullLayout.width < w",
                           arg=surface_width)
    page.wait_for_timeout(400)
    assert_clear(page, "after a resize to 1280x720")
    page.screenshot(path=screenshot_dir / "labels-default-done-1280.png")
    assert page.console_errors == []


# 1.0: just past the lr limit 2/λ_max = 0.986, SGD diverges near the minimum and the arrows;
# 5: every run diverges at once, their end labels meet at the loss chart's top.
@pytest.mark.parametrize("lr", ["1.0", "5"])
def test_labels_never_overlap_when_runs_diverge(live_server, page, screenshot_dir, lr):
    page.goto(live_server + f"/?autoplay=1&lr={lr}")
    page.wait_for_function(
        "() => Object.values(window.__dp.state.statuses).includes('diverged')", timeout=30_000)
    assert_clear(page, "at the first divergence")
    page.goto(live_server + f"/?autoplay=1&lr={lr}&speed=0")
    page.wait_for_function(DONE, timeout=60_000)
    assert_clear(page, "at the end")
    assert any("diverged" in text for text in labels(page, "#surface-plot"))
    page.screenshot(path=screenshot_dir / f"labels-diverged-{lr}.png")
    assert page.console_errors == []


def test_a_network_surface_moves_to_the_plane_of_its_paths(live_server, page, screenshot_dir):
    page.goto(live_server + "/?dataset=spiral&hidden=8&autoplay=1")
    page.wait_for_function(
        "() => document.getElementById('surface-caption').innerText.includes('found by PCA')",
        timeout=30_000)
    caption = page.inner_text("#surface-caption")
    assert "How far the paths stray from this slice: on average" in caption
    assert "% of their movement is off the slice" in caption and "residual" not in caption
    assert page.get_attribute("#plane-pca", "aria-pressed") == "true"
    assert page.evaluate("() => window.__dp.state.received.surface") >= 2  # no click needed
    page.wait_for_function("() => (window.__dp.state.iterations.SGD || 0) >= 200",
                           timeout=30_000)
    assert_clear(page, "spiral mid-race")
    # the paths fill the plane: SGD's path spans most of the first axis
    spread = page.evaluate("""() => { const d = window.__dp.plots.surface, x = d.data[0].x,
        r = d._fullLayout.xaxis.range; return (Math.max(...x) - Math.min(...x)) / (r[1] - r[0]); }""")
    assert spread > 0.4
    page.screenshot(path=screenshot_dir / "labels-spiral-pca.png")
    page.click("button[data-lang='ko']")
    page.wait_for_function(
        "() => document.getElementById('surface-caption').innerText.includes('PCA로 찾음')")
    caption = page.inner_text("#surface-caption")
    assert "경로가 이 단면에서 벗어난 정도: 평균적으로 움직임의" in caption
    assert page.inner_text("#plane-pca") == "경로 (PCA)"
    assert page.console_errors == []
