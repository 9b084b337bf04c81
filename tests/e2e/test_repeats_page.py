"""Repeated runs on the page, in Chromium: each run's loss is a median line in a min–max band
(SGD's wide, full batch's a single line), each repeat a faint path on the surface, and the run
cards give the final loss's spread; for a viewer of a room and a replayed file too; in English
and Korean, at the three screen sizes."""

from __future__ import annotations

import json

import pytest
from test_classroom import DONE, PRIMED, new_page, open_primed, present_room

LINK = "/?repeats=5&n_samples=60&epochs=4&seed=3&speed=0&autoplay=1"
SIZES = {"desktop": (1440, 900), "laptop": (1280, 720), "phone": (390, 844)}
READ = """() => {
  const rep = (div) => div.data.filter((d) => d.meta === "rep").map((d) => ({ x: d.x, y: d.y }));
  const s = window.__dp.state, loss = window.__dp.plots.loss;
  return { runs: s.runs.map((r) => r.name), repeats: s.config.repeats,
           bands: rep(loss), faint: rep(window.__dp.plots.surface),
           medians: s.runs.map((_, i) => loss.data[3 * i + 1].y),
           cards: [...document.querySelectorAll("#counters .run .arith")].map((e) => e.textContent),
           key: document.getElementById("loss-key").textContent,
           control: document.getElementById("c-repeats").value };
}"""


def drawn(page) -> dict:
    """What the page shows of the repeats once its race is done."""
    page.wait_for_function("() => window.__dp && window.__dp.state.status === 'done' && window.Plotly",
                           timeout=60_000)
    page.wait_for_timeout(600)  # the bands' last restyle (at most every 400 ms)
    return page.evaluate(READ)


def race_to_done(page, base_url: str, lang: str = "en") -> dict:
    page.goto(f"{base_url}{LINK}&lang={lang}")
    return drawn(page)


def widths(band: dict) -> list[float]:
    """The band's height at each of its spans: its upper edge there minus its lower edge."""
    y, half = band["y"], len(band["y"]) // 2
    return [hi - lo for hi, lo in zip(y[:half], reversed(y[half:]), strict=True)]


def check_bands(seen: dict) -> None:
    """SGD's band is wider than mini-batch's; full batch's is a single line."""
    sgd, mini, full = (widths(b) for b in seen["bands"])
    assert len(sgd) > 10 and max(full) == 0.0  # full batch: no randomness, one line
    assert sum(sgd) / len(sgd) > sum(mini) / len(mini) > 0  # SGD's luck spreads widest


def test_bands_show_sgd_noise_and_a_single_full_batch_line(live_server, page):
    seen = race_to_done(page, live_server)
    assert seen["runs"] == ["SGD", "Mini-batch", "Full batch"] and seen["repeats"] == 5
    assert seen["control"] == "5"  # the link's repeats, in the More section's control
    assert "repeats=5" in page.url  # the page's own share link keeps them
    assert "min–max of the repeats" in seen["key"] and "median" in seen["key"]
    check_bands(seen)
    for card in seen["cards"]:
        assert card.startswith("final loss: median "), card
    # each repeat a faint path from the start: five segments per run
    for path in seen["faint"]:
        assert path["x"].count(None) == 5
    assert page.console_errors == []


def test_the_repeats_control_sets_the_next_start(live_server, page):
    page.goto(live_server + "/?n_samples=30&epochs=1&speed=0&lang=en")
    page.wait_for_function(PRIMED, timeout=15_000)
    page.click("#more > summary")
    assert page.get_by_label("Repeats").input_value() == "1"
    page.select_option("#c-repeats", "3")
    page.keyboard.press("Escape")
    page.click("#btn-start")
    seen = drawn(page)
    assert seen["repeats"] == 3 and len(seen["faint"]) == 3
    assert [p["x"].count(None) for p in seen["faint"]] == [3, 3, 3]
    assert page.console_errors == []


def test_viewers_and_a_replayed_file_see_the_bands(live_server, browser, tmp_path):
    teacher, viewer = new_page(browser), new_page(browser)
    try:
        open_primed(teacher, live_server + LINK.replace("&autoplay=1", "") + "&lang=en")
        _, url = present_room(teacher)
        viewer.goto(url)
        viewer.wait_for_function(PRIMED, timeout=15_000)
        teacher.click("#btn-start")
        teacher.wait_for_function(DONE, timeout=60_000)
        seen = drawn(viewer)
        assert seen["repeats"] == 5
        check_bands(seen)
        # the teacher's run saved and replayed: the same bands
        saved = teacher.evaluate("""async () => {
          const r = await fetch("/api/export/json", { method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ config: window.__dp.state.config }) });
          return await r.text();
        }""")
        assert json.loads(saved)["config"]["repeats"] == 5
        path = tmp_path / "repeats.json"
        path.write_text(saved)
        teacher.set_input_files("#load-file", str(path))
        teacher.wait_for_function(
            "() => window.__dp.state.replay && document.body.dataset.status === 'done'",
            timeout=30_000)
        replayed = drawn(teacher)
        assert replayed["bands"] == seen["bands"]
        assert teacher.console_errors == [] and viewer.console_errors == []
    finally:
        teacher.context.close()
        viewer.context.close()


def test_the_median_line_ends_at_the_median_final_loss(live_server, page):
    seen = race_to_done(page, live_server)
    finals = page.evaluate("""async () => {
      const r = await fetch("/api/runs", { method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify(window.__dp.state.config) });
      return (await r.json()).done.runs;
    }""")
    for i, name in enumerate(seen["runs"]):
        assert seen["medians"][i][-1] == pytest.approx(finals[name]["loss_median"], rel=1e-12), name


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("size", SIZES)
def test_screenshots_of_the_bands(live_server, browser, screenshot_dir, size, lang):
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height},
                                  is_mobile=size == "phone", has_touch=size == "phone")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        seen = race_to_done(page, live_server, lang)
        assert ("중앙값" if lang == "ko" else "median") in seen["cards"][0]
        if lang == "ko":
            assert "최소–최대" in seen["key"]
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        page.check("#loss-log")  # on a log axis the bands show at every loss
        page.wait_for_timeout(300)
        page.screenshot(path=screenshot_dir / f"repeats-{size}-{lang}.png", full_page=size == "phone")
        assert errors == []
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_repeats_control_and_the_bands_pass_axe(live_server, page, lang):
    from test_accessibility import check

    race_to_done(page, live_server, lang)
    check(page, f"a race of repeats ({lang})")
    page.click("#more > summary")
    page.focus("#c-repeats")
    check(page, f"the More section with Repeats ({lang})")
    box = page.locator("#c-repeats").bounding_box()
    assert box["width"] >= 24 and box["height"] >= 24


def test_faint_paths_move_to_a_refitted_plane(live_server, page):
    """A network's surface is refitted to the paths: every repeat's faint path moves with it,
    and ends where the server's export (which ends on the same plane) puts its last point."""
    page.goto(live_server + "/?dataset=moons&hidden=4&n_samples=40&epochs=3&repeats=3&speed=0"
              "&autoplay=1&lang=en")
    seen = drawn(page)
    assert page.evaluate("() => window.__dp.state.plane") == "pca"
    saved = page.evaluate("""async () => {
      const r = await fetch("/api/runs", { method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify(window.__dp.state.config) });
      return (await r.json()).runs.SGD;
    }""")
    ends = {p["repeat"]: p["xy"] for p in saved}  # each repeat's last point
    sgd = seen["faint"][0]
    segments, x, y = [], [], []
    for a, b in zip(sgd["x"], sgd["y"], strict=True):
        if a is None:
            segments.append((x[-1], y[-1]))
            x, y = [], []
        else:
            x.append(a)
            y.append(b)
    assert len(segments) == 3
    for r, (a, b) in enumerate(segments):
        assert [a, b] == pytest.approx(ends[r], rel=1e-9, abs=1e-12), r
    assert page.console_errors == []
