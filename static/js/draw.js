// One animation frame for every update: a message only marks what changed, and the next frame
// flushes each widget once. `perf` sums the milliseconds each widget spent drawing.

export function createDraw(widgets) {
  const perf = {};
  let requested = false;

  function request() {
    if (requested) return;
    requested = true;
    requestAnimationFrame(draw);
  }
  function draw(now) {
    requested = false;
    if (!window.Plotly) { request(); return; }
    let more = false;
    for (const [name, w] of Object.entries(widgets)) {
      const t0 = performance.now();
      try { more = w.flush(now) || more; } catch (err) { console.error(err); }
      const dt = performance.now() - t0;
      perf[name] = (perf[name] || 0) + dt;
    }
    if (more) request();
  }

  return { request, perf };
}
