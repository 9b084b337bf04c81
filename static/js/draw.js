// One animation frame for every update: a message only marks what changed, and the next frame
// flushes the light widgets (counters, step panel) every time and at most ONE plot. The plots
// share one budget, so that a slow machine never runs two Plotly redraws in one frame and keeps
// time for the browser between them: the plot drawn least recently goes first, and after a
// redraw of dt ms the next waits 2·dt (a third of the time). Once a redraw is a long task
// (> 40 ms: a slow CPU) it waits 8·dt, at most 800 ms: the browser's own painting of a redrawn
// plot costs about half as much again, and benchmarks/page.py measured the page under 25 % in
// long tasks at 4x throttling only from there. A plot's first draw never waits; the data view
// draws at most every 600 ms. A plot's flush returns "drew" after a Plotly call, true if it
// has work left that must wait, else false. `hold()` keeps the plots still for one frame after
// a click redrew one at once, so the click's repaint is not delayed by another. Until plotly.js
// has run, only the light widgets are flushed. `perf` sums each widget's ms.

export function createDraw(widgets, plots = ["surface", "loss", "data", "rep"], minGap = { data: 600 }) {
  const perf = {};
  const last = Object.fromEntries(plots.map((p) => [p, 0])); // when each plot last drew
  let nextPlot = 0;
  let requested = false;

  function request() {
    if (requested) return;
    requested = true;
    requestAnimationFrame(draw);
  }
  function run(name, now) {
    const t0 = performance.now();
    let r = false;
    try { r = widgets[name].flush(now); } catch (err) { console.error(err); }
    const dt = performance.now() - t0;
    perf[name] = (perf[name] || 0) + dt;
    return [r, dt];
  }
  function draw(now) {
    requested = false;
    let more = false;
    for (const name of Object.keys(widgets)) if (!plots.includes(name)) more = run(name, now)[0] || more;
    if (window.Plotly) { // until it has loaded, its onload asks for the first frame
      for (const name of [...plots].sort((a, b) => last[a] - last[b])) {
        const first = !last[name];
        if (!first && (now < nextPlot || now - last[name] < (minGap[name] || 0))) { more = true; continue; }
        const [r, dt] = run(name, now);
        if (r === "drew") {
          last[name] = now;
          nextPlot = now + Math.min(dt * (dt > 40 ? 8 : 2), 800); // a rare heavy draw (a new contour) waits less
          more = true;
          if (!first) break;
        } else more = r || more;
      }
    }
    if (more) request();
  }
  /** A plot was just redrawn outside the frame (a click): no other redraw in the next frame. */
  function hold() { nextPlot = Math.max(nextPlot, performance.now() + 34); request(); }

  return { request, hold, perf };
}
