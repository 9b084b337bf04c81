"""How the page draws a race, in real Chromium: the plots take turns (never two Plotly redraws
in one animation frame, so a slow laptop keeps time for the browser between them), the loss
chart's axes are set ahead so most redraws keep them, and a long curve is drawn thinned to real
points while the chart keeps every one. The speed itself is measured by benchmarks/page.py."""

from __future__ import annotations

import pytest
from test_page import open_page, set_value, start

pytestmark = pytest.mark.e2e

# Every Plotly call, with the animation frame it ran in (the frame's time, the same for every
# requestAnimationFrame callback of one frame) and the plot it drew; and the frames in which a
# plot was resized (Plotly redraws a resized plot at once, outside the page's turns).
RECORD = """() => {
  window.__calls = []; window.__resized = [];
  const plots = window.__dp.plots, P = window.Plotly;
  const name = (div) => Object.keys(plots).find((k) => plots[k] === div) || '?';
  for (const f of ['react', 'restyle', 'relayout', 'extendTraces']) {
    const real = P[f];
    P[f] = function (div, ...rest) {
      window.__calls.push([document.timeline.currentTime, name(div), f]);
      return real.call(this, div, ...rest);
    };
  }
  for (const div of Object.values(plots)) {  // (a layer not drawn yet has no `on`)
    div.on?.('plotly_relayout', (e) => e && e.autosize && window.__resized.push(document.timeline.currentTime));
  }
}"""


def test_plots_take_turns_with_one_plotly_call_each(live_server, page):
    open_page(page, live_server)
    set_value(page, "#c-epochs", 300)
    start(page)
    page.wait_for_function("() => Object.values(window.__dp.plots).every((d) => d.on)")  # all drawn
    page.evaluate(RECORD)
    page.wait_for_timeout(4000)
    calls = page.evaluate("() => window.__calls")
    resized = set(page.evaluate("() => window.__resized"))
    frames = {}
    for frame, plot, _ in calls:
        if frame not in resized:
            frames.setdefault(frame, []).append(plot.replace("Background", "").replace("Top", ""))
    assert len(frames) >= 8, calls  # the race was drawn, in many frames
    # one plot per frame, in one call (the data view's two layers: its points, then its model)
    assert all(len(set(plots)) == 1 for plots in frames.values()), frames
    assert all(len(plots) == 1 or set(plots) == {"data"} for plots in frames.values()), frames
    assert {"surface", "loss", "data"} <= {p for plots in frames.values() for p in plots}
    # the loss chart's axes are set ahead: no relayout, and the last point is short of the end
    assert "relayout" not in [f for _, plot, f in calls if plot == "loss"], calls
    last, top = page.evaluate("""() => { const d = window.__dp.plots.loss;
      return [Math.max(...d.data[1].x), d._fullLayout.xaxis.range[1]]; }""")
    assert last < top <= 2 * max(last, 1)
    assert page.console_errors == []


def test_a_long_curve_is_drawn_thinned_to_real_points(live_server, page):
    """Past 3,000 points a curve is drawn, at each redraw of the axes, as a subset of its own
    points (each bucket's lowest and highest), the newest included; points that arrive until
    the next redraw of the axes are added as they are."""
    open_page(page, live_server)
    set_value(page, "#c-samples", 2000)
    set_value(page, "#c-epochs", 4)
    page.check("#c-speed-max")
    start(page)
    page.wait_for_function("() => document.body.dataset.status === 'done'", timeout=60_000)
    page.wait_for_function(  # the last points are drawn in the plot's next turn
        "() => window.__dp.plots.loss.data.slice(0, 2).every((t) => t.customdata.at(-1)[0] === 8000)")
    got = page.evaluate("""() => {
      const s = window.__dp.state, d = window.__dp.plots.loss.data;
      return { batch: d[0], full: d[1], iterations: s.iterations.SGD };
    }""")
    assert got["iterations"] == 8000
    for trace in (got["batch"], got["full"]):
        its = [c[0] for c in trace["customdata"]]
        assert 1000 < len(its) < 4000, len(its)  # of 8,001
        assert its == sorted(its) and its[-1] == 8000
        assert len(set(its)) == len(its)
    assert page.console_errors == []
