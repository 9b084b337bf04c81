""""Your own data" in real Chromium against the real app: points clicked onto the data view are
the points the runs train on, a CSV with a bad row is refused as a whole (in either language),
and a share link of a custom set replays bit for bit in a second browser context."""

from __future__ import annotations

import pytest
from test_classroom import DONE, PRIMED, new_page, points

pytestmark = pytest.mark.e2e

READY = ("() => window.Plotly && window.__dp.state.dataset"
         " && window.__dp.plots.data._fullLayout && document.querySelector('#c-dataset option')")
DATA = "() => window.__dp.state.config && window.__dp.state.config.data"


def started_with(page, n: int) -> dict:
    """The config of the race on screen once it trains on `n` custom points."""
    page.wait_for_function(f"() => {{ const d = ({DATA})(); return d && d.X.length === {n}"
                           " && window.__dp.state.dataset.n_samples === {n}; }".replace("{n}",
                                                                                       str(n)),
                           timeout=15_000)
    return page.evaluate(DATA)


def open_custom(page, url: str, task: str) -> None:
    page.goto(url)
    page.wait_for_function(READY, timeout=20_000)
    page.select_option("#c-dataset", "custom")
    page.select_option("#cd-task", task)
    page.wait_for_function("() => window.__dp.plots.data.layout.uirevision === 'custom'")


def click_at(page, fx: float, fy: float) -> list[float]:
    """Click the data view at a fraction of its plot area; the point there, in data units."""
    area = page.evaluate("() => { const f = window.__dp.plots.data._fullLayout,"
                         " r = window.__dp.plots.data.getBoundingClientRect();"
                         " return [r.left + f.xaxis._offset, r.top + f.yaxis._offset,"
                         " f.xaxis._length, f.yaxis._length, f.xaxis.range, f.yaxis.range]; }")
    left, top, width, height, xr, yr = area
    page.mouse.click(left + fx * width, top + fy * height)
    return [xr[0] + fx * (xr[1] - xr[0]), yr[1] - fy * (yr[1] - yr[0])]


def test_clicked_points_are_the_points_the_runs_train_on(live_server, browser, screenshot_dir):
    page = new_page(browser)
    open_custom(page, live_server + "/", "binary")
    assert page.is_visible("#cd") and page.is_hidden("#cd-copy")
    clicked = [click_at(page, fx, fy) for fx, fy in [(0.2, 0.2), (0.3, 0.3), (0.25, 0.15)]]
    page.keyboard.press("2")  # the second class
    assert page.get_attribute("#cd-pal button:nth-child(2)", "aria-pressed") == "true"
    clicked += [click_at(page, fx, fy) for fx, fy in [(0.8, 0.8), (0.7, 0.75), (0.75, 0.9)]]
    assert "6" in page.inner_text("#cd-note")  # at once, before any race
    data = started_with(page, 6)  # after the idle: one start, on these points
    assert data["y"] == [0, 0, 0, 1, 1, 1] and data["task"] == "binary"
    for got, want in zip(data["X"], clicked, strict=True):
        assert got == pytest.approx(want, abs=0.02), (got, want)  # three digits of the view
    page.click("#btn-start")
    page.wait_for_function(DONE, timeout=30_000)
    started = page.evaluate("() => window.__dp.state")
    assert started["config"]["data"]["X"] == data["X"]
    dataset = started["dataset"]
    raw = [[v * s + m for v, s, m in zip(row, dataset["scale"], dataset["shift"], strict=True)]
           for row in dataset["X"]]
    assert raw == [pytest.approx(row) for row in data["X"]]  # standardized, the same points
    # the data view draws them in their own units
    drawn = page.evaluate("() => window.__dp.plots.dataTop.data.map(t => [t.x, t.y])")
    assert sorted(drawn[0][0]) == pytest.approx(sorted(r[0] for r in data["X"][:3]))
    page.screenshot(path=str(screenshot_dir / "custom-clicked-1440.png"))

    # a click on a point removes it; Undo brings it back
    px = page.evaluate("(p) => { const f = window.__dp.plots.data._fullLayout,"
                       " r = window.__dp.plots.data.getBoundingClientRect();"
                       " return [r.left + f.xaxis._offset + f.xaxis.d2p(p[0]),"
                       " r.top + f.yaxis._offset + f.yaxis.d2p(p[1])]; }", data["X"][0])
    page.mouse.click(*px)
    assert started_with(page, 5)["X"] == data["X"][1:]
    page.click("#cd-undo")
    assert started_with(page, 6)["X"] == data["X"]
    assert not page.console_errors, page.console_errors
    page.context.close()


@pytest.mark.parametrize("lang, words", [("en", ["line 3: not a number", "line 5: 4 columns"]),
                                         ("ko", ["3행: ±1e6 안의 수가 아님", "5행: 열 4개"])])
def test_a_csv_with_a_bad_row_is_refused_and_the_points_stay(live_server, browser, lang, words,
                                                             screenshot_dir, tmp_path):
    page = new_page(browser)
    open_custom(page, f"{live_server}/?lang={lang}", "regression")
    page.click(".cd-csv summary")
    page.fill("#cd-text", "x;y\n1;2\n3;4\n5;6\n")
    page.click("#cd-use")
    before = started_with(page, 3)
    assert before["X"] == [[1.0], [3.0], [5.0]] and before["y"] == [2.0, 4.0, 6.0]
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\nabc,3\n4,5\n1,2,3,4\n")
    page.set_input_files("#cd-file", str(bad))
    page.wait_for_function("(w) => document.getElementById('cd-note').textContent.includes(w)",
                           arg=words[0])
    note = page.inner_text("#cd-note")
    assert all(w in note for w in words), note
    page.screenshot(path=str(screenshot_dir / f"custom-csv-refused-{lang}.png"))
    page.wait_for_timeout(1000)  # longer than the idle: nothing was restarted
    assert page.evaluate(DATA) == before
    page.context.close()


def test_a_share_link_of_a_custom_set_replays_bit_for_bit(live_server, browser):
    teacher = new_page(browser)
    open_custom(teacher, live_server + "/", "multiclass")
    rows = "\n".join(f"{i / 7:.6f},{(i * i) % 13 / 3:.4f},{i % 3}" for i in range(40))
    teacher.click(".cd-csv summary")
    teacher.fill("#cd-text", "x1\tx2\tlabel\n" + rows.replace(",", "\t"))
    teacher.click("#cd-use")
    data = started_with(teacher, 40)
    assert data["task"] == "multiclass"
    teacher.fill("#c-epochs", "3")
    teacher.dispatch_event("#c-epochs", "change")
    teacher.click("#btn-share")
    teacher.wait_for_function("() => document.getElementById('dlg-url').value.includes('data=')")
    url = teacher.input_value("#dlg-url")
    assert teacher.inner_text("#dlg-msg") == ""
    teacher.keyboard.press("Escape")
    teacher.wait_for_function("() => window.__dp.state.config.epochs === 3")
    teacher.click("#btn-start")
    teacher.wait_for_function(DONE, timeout=30_000)

    student = new_page(browser)  # a second browser context
    student.goto(url)
    student.wait_for_function(PRIMED, timeout=15_000)
    assert student.evaluate(DATA) == data
    assert student.input_value("#c-dataset") == "custom"
    student.click("#btn-start")
    student.wait_for_function(DONE, timeout=30_000)
    assert points(student) == points(teacher)  # every number, bit for bit
    for p in (teacher, student):
        assert not p.console_errors, p.console_errors
        p.context.close()


def test_more_than_200_points_are_shared_as_a_file(live_server, browser):
    page = new_page(browser)
    open_custom(page, live_server + "/", "regression")
    page.click(".cd-csv summary")
    page.fill("#cd-text", "\n".join(f"{i},{i % 7}" for i in range(201)))
    page.click("#cd-use")
    started_with(page, 201)
    page.click("#btn-share")
    page.wait_for_function("() => document.getElementById('dlg-url').value !== ''")
    assert "Run file (JSON)" in page.inner_text("#dlg-msg")
    url = page.input_value("#dlg-url")
    assert "data=" not in url and "dataset=custom" in url
    page.context.close()


def test_edit_these_points_copies_the_built_in_set(live_server, browser):
    page = new_page(browser)
    page.goto(live_server + "/?dataset=linear&n_samples=30&seed=3")
    page.wait_for_function(READY, timeout=20_000)
    page.wait_for_function("() => !document.getElementById('cd-copy').hidden")
    built_in = page.evaluate("() => window.__dp.state.dataset")
    page.click("#cd-copy")
    data = started_with(page, 30)
    assert data["X"] == built_in["X"] and data["y"] == built_in["y"]
    assert data["standardize"] is False and page.input_value("#c-dataset") == "custom"
    assert page.input_value("#c-loss") == "mse"
    page.context.close()


@pytest.mark.parametrize("lang, words", [("en", "none has label 1"),
                                         ("ko", "모든 클래스에 점이 하나 이상")])
def test_a_set_with_one_class_only_is_said_in_the_pages_language(live_server, browser, lang,
                                                                 words):
    page = new_page(browser)
    open_custom(page, f"{live_server}/?lang={lang}", "binary")
    for fx, fy in [(0.2, 0.2), (0.3, 0.3), (0.25, 0.15)]:  # all of the first class
        click_at(page, fx, fy)
    page.wait_for_function("(w) => !document.getElementById('notice').hidden"
                           " && document.getElementById('notice-text').textContent.includes(w)",
                           arg=words, timeout=15_000)
    assert page.evaluate("() => window.__dp.state.lastError.code") == "missing_class"
    page.keyboard.press("2")  # a point of the other class: the set trains
    click_at(page, 0.8, 0.8)
    assert started_with(page, 4)["y"] == [0, 0, 0, 1]
    page.context.close()
