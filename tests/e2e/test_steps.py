"""The step panel in real Chromium against the real app: CCE and SCCE targets written two ways,
the panel following a run that is still moving, and the batch surface toggled while scrubbed back.
Screenshots land in tests/artifacts/."""

from __future__ import annotations

import re

import pytest
from test_page import open_page, set_value, settle_paused, start

pytestmark = pytest.mark.e2e

SUB = "() => document.getElementById('step-sub').textContent"
DETAIL_AT = (
    "([run, i]) => document.getElementById('step-sub').textContent.startsWith(run + ' · iteration ' + i)"
    " && document.querySelectorAll('#step-body .phase').length === 4"
)


def statuses(page):
    return page.evaluate("() => ({...window.__dp.state.statuses})")


def sub_iteration(page):
    """The panel's run and iteration, read off its subtitle ("SGD · iteration 41 · epoch 1")."""
    m = re.match(r"(.+) · iteration ([\d,]+) ·", page.evaluate(SUB))
    assert m, page.evaluate(SUB)
    return m[1], int(m[2].replace(",", ""))


# -- point 7: the same labels, one-hot for categorical_crossentropy, an index for the sparse one
def test_cce_shows_one_hot_targets_and_scce_class_indices_with_the_same_loss(
    live_server, page, screenshot_dir
):
    open_page(page, live_server)
    page.select_option("#c-dataset", "multiblobs")
    page.select_option("#c-classes", "3")
    texts = {}
    for loss in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
        page.select_option("#c-loss", loss)
        page.wait_for_function(
            "(loss) => { const s = window.__dp.state; return s.generation !== null &&"
            " s.config && s.config.loss === loss; }", arg=loss)
        for _ in range(3):  # a paused start, stepped: the same iterations under either loss
            page.click("#btn-step")
            page.wait_for_timeout(150)
        page.wait_for_function(DETAIL_AT, arg=["Mini-batch", 3])
        texts[loss] = page.inner_text("#step-body")
        page.screenshot(path=screenshot_dir / f"steps-{loss}.png")
    cce, scce = texts["categorical_crossentropy"], texts["sparse_categorical_crossentropy"]
    one_hot = re.findall(r"\(t = \[([01]), ([01]), ([01])\]\)", cce)
    index = re.findall(r"\(t = ([012])\)", scce)
    assert len(one_hot) == 2 and len(index) == 2, (cce, scce)
    # the same samples: the one-hot row's 1 sits at the class index
    assert [row.index("1") for row in one_hot] == [int(k) for k in index]
    assert all(sorted(row) == ["0", "0", "1"] for row in one_hot)
    assert "t = [" not in scce
    # the same loss: the first sample's ℓ, the batch's L_B and the full data's L
    for pattern in (r"= (\S+)\nL_B", r"L_B = (\S+)", r"L = (\S+)"):
        assert re.search(pattern, cce)[1] == re.search(pattern, scce)[1], pattern
    assert "ℓ₁ = −Σ t·log ŷ = −log" in cce and "ℓ₁ = −log ŷ[t] = −log" in scce
    assert "one-hot" in cce and "class index" in scce
    assert page.console_errors == []


# -- point 8: the panel follows a run that is still moving, unless the user picked one
def test_the_panel_follows_a_run_still_moving_after_the_others_finish(live_server, page):
    open_page(page, live_server)
    # 40 epochs: Full batch and Mini-batch finish in seconds (Mini-batch's 160 iterations take
    # over 5 s, so it is still the one shown when the start is seen on a busy machine); SGD goes on
    set_value(page, "#c-epochs", 40)
    start(page)
    assert page.evaluate("() => window.__dp.state.inspected") == "Mini-batch"
    page.wait_for_function(
        "() => { const s = window.__dp.state.statuses; return s['Full batch'] === 'completed'"
        " && s['Mini-batch'] === 'completed'; }", timeout=30_000)
    assert statuses(page)["SGD"] == "running"
    page.wait_for_function("() => document.getElementById('step-sub').textContent.startsWith('SGD')")
    assert page.input_value("#inspect-run") == "SGD"
    assert page.evaluate("() => window.__dp.state.inspected") == "SGD"
    _, first = sub_iteration(page)
    page.wait_for_function(
        "(i) => { const m = document.getElementById('step-sub').textContent.match(/^SGD · iteration ([\\d,]+)/);"
        " return m && Number(m[1].replace(/,/g, '')) > i; }", arg=first)
    # Step moves SGD, and the panel shows SGD's new iteration
    page.click("#btn-pause")
    settle_paused(page)
    at = page.evaluate("() => window.__dp.state.iterations.SGD")
    page.wait_for_function(DETAIL_AT, arg=["SGD", at])  # paused: the latest iteration opened up
    page.click("#btn-step")
    page.wait_for_function(DETAIL_AT, arg=["SGD", at + 1])
    # now the user picks a finished run: it stays while SGD goes on
    page.select_option("#inspect-run", "Full batch")
    page.wait_for_function(DETAIL_AT, arg=["Full batch", 40])
    page.click("#btn-start")  # resume
    page.wait_for_function("(i) => window.__dp.state.iterations.SGD > i + 20", arg=at)
    assert sub_iteration(page) == ("Full batch", 40)
    assert page.input_value("#inspect-run") == "Full batch"
    assert page.console_errors == []


def test_a_run_the_user_picked_stays_in_the_panel_after_it_finishes(live_server, page):
    # the guard of the test above: a pick made while the run still moves outlasts its end
    open_page(page, live_server)
    start(page)
    page.select_option("#inspect-run", "Mini-batch")  # an explicit pick of the default run
    page.wait_for_function(
        "() => { const s = window.__dp.state.statuses; return s['Full batch'] === 'completed'"
        " && s['Mini-batch'] === 'completed'; }", timeout=20_000)
    page.wait_for_function(DETAIL_AT, arg=["Mini-batch", 80])
    page.wait_for_timeout(1500)  # SGD goes on meanwhile
    assert statuses(page)["SGD"] == "running"
    assert page.evaluate("() => window.__dp.state.inspected") == "Mini-batch"
    assert page.input_value("#inspect-run") == "Mini-batch"
    assert sub_iteration(page) == ("Mini-batch", 80)
    # a run card is an explicit pick too: Full batch has finished and stays
    page.click("#counters .run:has-text('Full batch')")
    page.wait_for_function(DETAIL_AT, arg=["Full batch", 20])
    page.wait_for_timeout(800)
    assert page.evaluate("() => window.__dp.state.inspected") == "Full batch"
    assert page.console_errors == []


# -- point 10: "What this batch sees" turns off (and on) while the timeline is scrubbed back
BATCH_SHOWN = (
    "const d = window.__dp.plots.surfaceBackground.data || [];"
    " return d.length > 1 && d[1].visible === true && d[1].line.dash === 'dash';"
)
BATCH_TRACE = f"() => {{ {BATCH_SHOWN} }}"
NO_BATCH_TRACE = f"() => !(() => {{ {BATCH_SHOWN} }})()"


def test_batch_surface_toggles_while_the_timeline_is_scrubbed_back(
    live_server, page, screenshot_dir
):
    open_page(page, live_server)
    set_value(page, "#c-epochs", 300)  # every run still going below
    page.check("#batch-surface")
    start(page)
    page.wait_for_function(BATCH_TRACE, timeout=15_000)
    page.wait_for_function("() => window.__dp.state.iterations.SGD > 40")
    page.eval_on_selector(
        "#tl-range", "(r) => { r.value = '20'; r.dispatchEvent(new Event('input')); }")
    page.wait_for_function("() => window.__dp.state.cursor === 20")
    page.wait_for_function(BATCH_TRACE)

    page.uncheck("#batch-surface")
    page.wait_for_function(NO_BATCH_TRACE, timeout=15_000)
    assert page.evaluate("() => window.__dp.state.cursor") == 20  # still scrubbed back
    caption = page.inner_text("#surface-caption")
    assert "dashed" not in caption
    page.screenshot(path=screenshot_dir / "steps-batch-off-scrubbed.png")

    page.check("#batch-surface")
    page.wait_for_function(BATCH_TRACE, timeout=15_000)
    assert "dashed" in page.inner_text("#surface-caption")
    assert page.evaluate("() => window.__dp.state.cursor") == 20

    # off again, then back to live: it stays off; on again live: it comes back
    page.uncheck("#batch-surface")
    page.click("#tl-live")
    page.wait_for_function("() => window.__dp.state.cursor === null")
    page.wait_for_timeout(800)
    assert page.evaluate(NO_BATCH_TRACE)
    page.check("#batch-surface")
    page.wait_for_function(BATCH_TRACE, timeout=15_000)
    assert page.console_errors == []
