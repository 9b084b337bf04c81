// One animation frame for every update: a message only marks what changed, and the next frame
// flushes each widget once (each plot throttles itself by what its last redraw cost). Until
// plotly.js has run, only the widgets that need no plot are flushed. `perf` sums the
// milliseconds each widget spent drawing.

export function createDraw(widgets, plots = ["surface", "loss", "data"]) {
  const perf = {};
  let requested = false;

  function request() {
    if (requested) return;
    requested = true;
    requestAnimationFrame(draw);
  }
  function draw(now) {
    requested = false;
    let more = !window.Plotly;
    for (const [name, w] of Object.entries(widgets)) {
      if (!window.Plotly && plots.includes(name)) continue;
      const t0 = performance.now();
      try { more = w.flush(now) || more; } catch (err) { console.error(err); }
      perf[name] = (perf[name] || 0) + performance.now() - t0;
    }
    if (more) request();
  }

  return { request, perf };
}
