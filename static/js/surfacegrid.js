// The `surface` message as data, read without drawing: the grid's ranges, its loss levels (on a
// log scale when they span decades), the value at a point of the grid, where the minimum's label
// fits, and the caption under the plot. surface.js draws with these.

import { t, tOr } from "./i18n.js";
import { fmt, fmtFixed, fmtInt, plotFont, isFiniteNum } from "./common.js";

/** The grid's axis ranges, first to last value. */
export function ranges(s) {
  const xs = s.x, ys = s.y;
  return { x: [xs[0], xs[xs.length - 1]], y: [ys[0], ys[ys.length - 1]] };
}

/** v pulled inside the range r, 3% from either edge. */
export function clampTo(v, r) {
  const lo = Math.min(r[0], r[1]), hi = Math.max(r[0], r[1]);
  const pad = (hi - lo) * 0.03;
  return Math.min(hi - pad, Math.max(lo + pad, v));
}

/** The finite losses' range, the smallest positive one, the lift that keeps a path above the sheet. */
export function zLevels(z) {
  let lo = Infinity, hi = -Infinity, loPos = Infinity;
  for (const row of z) for (const v of row) {
    if (!isFiniteNum(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    if (v > 0 && v < loPos) loPos = v;
  }
  // Contour levels on log10(loss) when the loss spans decades: the bowl's floor gets lines too.
  return { lo, hi, loPos, lift: (hi - lo) * 0.01, log: lo > 0 && hi / lo > 50 };
}

export function displayZ(z, log) {
  // always a new array: Plotly.react skips the recalculation of a z it has seen, and then loses
  // the contour levels (no paths: "Cannot read properties of undefined (reading 'z')")
  if (!log) return z.slice();
  return z.map((row) => row.map((v) => (isFiniteNum(v) && v > 0 ? Math.log10(v) : null)));
}

/** The colour bar; with `logTicks`, ticks at 1 and 3 × each power of ten. */
export function colorbar(zInfo, logTicks) {
  const cb = { title: { text: t("surface.loss"), side: "right" }, thickness: 12, len: 1, x: 1.015, xanchor: "left",
    y: 0.5, outlinewidth: 0, tickfont: { size: plotFont(-2) } };
  if (logTicks) {
    const lo = Math.floor(Math.log10(zInfo.loPos)), hi = Math.ceil(Math.log10(zInfo.hi));
    const vals = [], text = [];
    for (let k = lo; k <= hi; k++) for (const m of [1, 3]) {
      const v = m * 10 ** k;
      vals.push(Math.log10(v)); text.push(fmt(v, 1));
    }
    cb.tickvals = vals; cb.ticktext = text;
  }
  return cb;
}

/** The loss at the grid point nearest to xy (the lowest loss where the grid has none). */
export function zAt(s, zInfo, xy) {
  const ix = nearest(s.x, xy[0]), iy = nearest(s.y, xy[1]);
  const v = s.z[iy] && s.z[iy][ix];
  return isFiniteNum(v) ? v : zInfo.lo;
}
function nearest(arr, v) {
  let best = 0, d = Infinity;
  for (let i = 0; i < arr.length; i++) { const e = Math.abs(arr[i] - v); if (e < d) { d = e; best = i; } }
  return best;
}

/** The grid's value at (x, y), bilinear between its four nearest points; null off the grid. */
export function gridValue(s, x, y) {
  const xs = s.x, ys = s.y, n = xs.length, m = ys.length;
  const fx = ((x - xs[0]) / (xs[n - 1] - xs[0])) * (n - 1), fy = ((y - ys[0]) / (ys[m - 1] - ys[0])) * (m - 1);
  if (!(fx >= 0 && fx <= n - 1 && fy >= 0 && fy <= m - 1)) return null;
  const j = Math.min(n - 2, Math.floor(fx)), i = Math.min(m - 2, Math.floor(fy));
  const a = fx - j, b = fy - i, z = s.z;
  const v = [z[i][j], z[i][j + 1], z[i + 1][j], z[i + 1][j + 1]];
  if (!v.every(isFiniteNum)) return null;
  return (1 - b) * ((1 - a) * v[0] + a * v[1]) + b * ((1 - a) * v[2] + a * v[3]);
}

export function minimumLabelPosition(s) {
  // below-left of the ✕, unless the ✕ sits on the map's lower or left edge
  if (!s.minimum) return "bottom left";
  const r = ranges(s), lo = Math.min(r.y[0], r.y[1]), span = Math.abs(r.y[1] - r.y[0]);
  const left = Math.min(r.x[0], r.x[1]), spanX = Math.abs(r.x[1] - r.x[0]);
  return `${s.minimum[1] - lo < 0.08 * span ? "top" : "bottom"} ${s.minimum[0] - left < 0.15 * spanX ? "right" : "left"}`;
}

/** The caption: which surface this is, the inspected step's angle, the batch surface's note. */
export function captionText(s, detail, showBatch) {
  const parts = [];
  if (s.kind === "exact") {
    parts.push(t("surface.exact", { a: tOr("axis.", s.labels[0]), b: tOr("axis.", s.labels[1]) }));
  } else {
    const n = s.n_params || "";
    const m = t(String(s.method).startsWith("PCA") ? "surface.m.pca" : s.plane === "pca" ? "surface.m.soon" : "surface.m.random");
    const res = s.residual;
    const pct = (v) => `${fmtFixed(v * 100, 0)}%`;
    if (res && isFiniteNum(res.mean)) parts.push(t("surface.projected", { n, m, pct: pct(res.mean), max: pct(res.max) }));
    else parts.push(t("surface.projected_pending", { n, m }));
  }
  if (detail && isFiniteNum(detail.angle)) {
    parts.push(t("surface.angle", { run: tOr("run.", detail.run), i: fmtInt(detail.iteration), deg: fmtFixed(detail.angle, 1) }));
  }
  if (showBatch) parts.push(s.kind === "exact" ? t("surface.batch_contours") : t("surface.no_batch"));
  return parts.join("  ·  ");
}
