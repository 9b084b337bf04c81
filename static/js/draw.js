// One animation frame for every update: a message only marks what changed, and the next frame
// flushes the widgets. The light ones (counters, step panel: a few DOM nodes) flush every frame;
// the plots take turns, one per frame, and after a plot has drawn the next waits REST times as
// long as it took. However slow the machine, drawing plots then takes at most 1/REST of the time
// and no frame carries more than one plot's redraw (a 4x slower laptop stays responsive).
// `perf` sums the milliseconds each widget spent drawing.

const REST = 4;
const DREW_MS = 1; // a flush this quick had nothing to draw: the next plot takes the turn

export function createDraw(widgets, plots = ["surface", "loss", "data"]) {
  const perf = {};
  const light = Object.keys(widgets).filter((n) => !plots.includes(n));
  let requested = false, plotsDirty = false, turn = 0, nextPlot = 0;

  function request() {
    plotsDirty = true;
    if (requested) return;
    requested = true;
    requestAnimationFrame(draw);
  }
  function flush(name, now) {
    const t0 = performance.now();
    let more = false;
    try { more = widgets[name].flush(now); } catch (err) { console.error(err); }
    const dt = performance.now() - t0;
    perf[name] = (perf[name] || 0) + dt;
    return { more, dt };
  }
  function drawPlot(now) {
    plotsDirty = false;
    for (let k = 0; k < plots.length; k++) {
      const name = plots[turn];
      turn = (turn + 1) % plots.length;
      const { more, dt } = flush(name, now);
      if (more) plotsDirty = true;
      if (dt >= DREW_MS) {
        plotsDirty = true; // the others may still wait for their turn
        nextPlot = now + REST * dt;
        return;
      }
    }
  }
  function draw(now) {
    requested = false;
    let again = false;
    for (const name of light) again = flush(name, now).more || again;
    if (plotsDirty && window.Plotly && now >= nextPlot) drawPlot(now);
    if (again || plotsDirty) {
      const keep = plotsDirty;
      request();
      plotsDirty = keep;
    }
  }

  return { request, perf };
}
