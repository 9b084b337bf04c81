// Repeated runs (config.repeats > 1: the same start and data, another shuffle each). Repeat 0
// feeds the other widgets as a single run would. Here each run's iterations fall into BINS spans:
// per span the least and largest loss of any repeat (the loss chart's band, one filled trace per
// run) and each repeat's last loss, whose median the loss chart draws as the run's line once
// every repeat has passed the span; and every repeat's path, about KEEP points each (the
// surface's faint paths, one trace per run). Both charts append these traces last (meta "rep").

import { runColor } from "./common.js";

const BINS = 100, KEEP = 300, REDRAW_MS = 400;

export function createRepeats(lossDiv, surfaceDiv) {
  let n, runs = [], start, xmode, dirty, next = 0;

  /** A new race: its runs (from `started`) and the number of repeats. */
  function reset(list, repeats) {
    n = repeats;
    runs = n > 1 ? list.map((r) => ({ color: runColor(r), ipe: r.iterations_per_epoch, w: Math.ceil(r.total_iterations / BINS),
      step: Math.ceil(r.total_iterations / KEEP), lo: [], hi: [], v: [], it: [], smp: [], at: Array(n).fill(-1), end: [], next: 0,
      path: [...Array(n)].map(() => []) })) : [];
  }

  /** Points of run i as they came: every repeat's kept here; the run's own (repeat 0) returned. */
  function take(i, points) {
    const R = runs[i];
    if (!R) return points;
    dirty = true;
    return points.filter((p) => {
      const r = p.repeat, b = Math.floor((p.iteration - 1) / R.w), l = p.loss ?? Infinity; // a lost loss (null) counts as +inf
      if (l < Infinity) { R.lo[b] = Math.min(R.lo[b] ?? l, l); R.hi[b] = Math.max(R.hi[b] ?? l, l); }
      (R.v[b] ||= [])[r] = l;
      R.it[b] = Math.max(R.it[b] || 0, p.iteration); R.smp[b] = p.samples; R.at[r] = b;
      if (p.status !== "running") R.end[r] = 1;
      if (p.iteration % R.step === 0 || R.end[r]) R.path[r].push({ iteration: p.iteration, xy: p.xy, loss: p.loss });
      return !r;
    });
  }

  /** Run i's median line so far: a point per span every repeat still going has passed (`all`:
   *  every span, the race is over), its loss the median of the repeats' last losses there. */
  function medians(i, all) {
    const R = runs[i], out = [];
    for (const upto = Math.min(R.v.length, ...R.at.map((b, r) => (all || R.end[r] ? 1e15 : b))); R.next < upto; R.next++) {
      const b = R.next, s = (R.v[b] || []).filter((x) => x >= 0).sort((x, y) => x - y), k = s.length >> 1, m = s.length % 2 ? s[k] : (s[k - 1] + s[k]) / 2;
      if (s.length) out.push({ iteration: R.it[b], samples: R.smp[b], loss: m < Infinity ? m : null });
    }
    return out;
  }

  /** Run i's kept points of repeat r (the surface's bold path after `done`: the median one). */
  const path = (i, r) => runs[i].path[r];

  /** A new plane: the server's `paths` entry of run i (repeat 0's, its `repeats` the others'). */
  function plane(i, e) {
    const R = runs[i];
    if (R && e) for (const o of [e, ...(e.repeats || [])]) R.path[o.repeat || 0] = o.xy.map((xy, k) => ({ xy, iteration: o.iterations[k] })).filter((q) => q.iteration % R.step === 0);
  }

  // ---- the traces, appended last to each chart
  function bandXY(R) {
    const x = [], y = [], ks = R.it.map((_, b) => b).filter((b) => b in R.lo);
    for (const b of [...ks, ...ks.reverse()]) {
      x.push(xmode === "epochs" ? R.it[b] / R.ipe : xmode === "samples" ? R.smp[b] : R.it[b]);
      y.push(y.length < ks.length ? R.hi[b] : R.lo[b]);
    }
    return { x, y };
  }
  function pathXY(R) {
    const x = [], y = [];
    for (const p of R.path) for (const q of [{ xy: start }, ...p, { xy: [null, null] }]) if (q.xy) { x.push(q.xy[0]); y.push(q.xy[1]); }
    return { x, y };
  }
  const common = { mode: "lines", hoverinfo: "skip", showlegend: false, meta: "rep" };
  /** The loss chart's bands, in its x mode. */
  const lossTraces = (x) => ((xmode = x), runs.map((R) => ({ ...common, ...bandXY(R), fill: "toself", fillcolor: R.color, opacity: 0.2, line: { width: 0 } })));
  /** The surface's faint paths (none in 3-D). */
  const surfaceTraces = (is3, s) => ((start = s), is3 ? [] : runs.map((R) => ({ ...common, ...pathXY(R), opacity: 0.35, line: { color: R.color, width: 1 } })));

  /** Restyle both charts' traces with what came since, at most every REDRAW_MS. */
  function flush(now) {
    if (!dirty || now < next) return dirty;
    dirty = false; next = now + REDRAW_MS;
    for (const [div, make] of [[lossDiv, bandXY], [surfaceDiv.querySelector(".layer-fg"), pathXY]]) {
      const idx = (div.data || []).flatMap((d, k) => (d.meta === "rep" ? [k] : [])), xy = runs.map(make);
      if (idx.length) Plotly.restyle(div, { x: xy.map((v) => v.x), y: xy.map((v) => v.y) }, idx);
    }
    return "drew"; // one of the plots' turns (js/draw.js)
  }

  return { reset, take, medians, path, plane, lossTraces, surfaceTraces, flush, get on() { return runs.length > 0; } };
}
