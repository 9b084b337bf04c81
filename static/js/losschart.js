// Loss curves: per run the batch loss (thin, see-through) and the full-data loss (bold), the
// run's name at the head of its line; x = iterations, epochs or samples seen; log-scale toggle.
// The chart keeps every point and draws at most DRAWN of each curve (draw.js spaces its redraws
// by what they cost; its x axis is set ahead of the curves, so most redraws keep the axes). The
// timeline's iteration k shows as a vertical marker (one per run, in its colour, on the epochs /
// samples axes).

import { t, tOr } from "./i18n.js";
import { runColor, runDash, runGlyph, INK, GRID, FONT, plotFont, isFiniteNum, lastLE, plotConfig, plotLayout } from "./common.js";
import { pixels, measure, boxAt, place } from "./labels.js";

const DRAWN = 3000; // points drawn per curve at most, when the axes are redrawn (see thinned)
const NUDGES = [0, -1, 1, -2, 2, -3, 3, -4, 4, -5, 5, -6, 6]; // an end label's shifts up or down, in steps of 0.6 × its size

export function createLossChart(div, request, extra) {
  let runs = [];   // [{name, color, ipe}]
  let data = [];   // per run {it, ep, smp, bl, l, pending: start index}
  let xmode = "iterations";
  let logY = false;
  let drawn = false;
  let dirtyHeads = false;
  let dirtySettle = false; // resized: the end labels are placed again
  let yTop = 0;       // linear axis top, fitted to the full-data curves
  let xTop = 0;       // the x axis's end, set ahead of the curves so most redraws keep the axes
  let maxFull = 0;    // the largest full-data loss received (kept as points arrive)
  let cursor = null;  // the timeline's iteration (null = live: no marker)
  let dirtyCursor = false;
  let shown = [];     // each run's end label as drawn: {x, y} in data, or null (left out)
  let listening = false; // for the plot's resizes (which move the labels' points on screen)

  const diverged = new Set();

  function reset() {
    runs = []; data = []; drawn = false; diverged.clear(); maxFull = 0; cursor = null; listening = false;
    if (window.Plotly) Plotly.purge(div);
  }

  function setRuns(list, initialLoss) {
    runs = list.map((r) => ({ name: r.name, color: runColor(r), dash: runDash(r), glyph: runGlyph(r), ipe: r.iterations_per_epoch || 1 }));
    // every run starts from the same point: iteration 0 carries the shared initial loss
    const l0 = isFiniteNum(initialLoss) ? initialLoss : null;
    data = runs.map(() => (l0 === null ? { it: [], ep: [], smp: [], bl: [], l: [], from: 0 }
      : { it: [0], ep: [0], smp: [0], bl: [null], l: [l0], from: 0 }));
    drawn = false; diverged.clear(); maxFull = l0 || 0;
    build();
  }

  function xs(d, from = 0) {
    if (xmode === "epochs") return d.ep.slice(from);
    if (xmode === "samples") return d.smp.slice(from);
    return d.it.slice(from);
  }
  function custom(d, from = 0) {
    const out = [];
    for (let k = from; k < d.it.length; k++) out.push([d.it[k], d.ep[k]]);
    return out;
  }
  function lastFinite(d) {
    for (let k = d.l.length - 1; k >= 0; k--) if (isFiniteNum(d.l[k])) return k;
    return -1;
  }
  function headXY(i) {
    const d = data[i];
    const k = lastFinite(d);
    if (k < 0) return { x: [], y: [] };
    const x = xmode === "epochs" ? d.ep[k] : xmode === "samples" ? d.smp[k] : d.it[k];
    return { x: [x], y: [d.l[k]] };
  }

  /** One curve's points as drawn: all of them up to DRAWN, else a subset of real points (per
   *  bucket of iterations the lowest and highest, so a noisy curve keeps its envelope). */
  function thinned(d, ys) {
    const n = ys.length, keep = [];
    if (n <= DRAWN) for (let k = 0; k < n; k++) keep.push(k);
    else {
      const size = Math.ceil((2 * n) / DRAWN);
      for (let a = 0; a < n; a += size) {
        let lo = a, hi = a;
        for (let k = a; k < Math.min(n, a + size); k++) {
          if (!isFiniteNum(ys[k])) continue;
          if (!isFiniteNum(ys[lo]) || ys[k] < ys[lo]) lo = k;
          if (!isFiniteNum(ys[hi]) || ys[k] > ys[hi]) hi = k;
        }
        keep.push(...(lo === hi ? [lo] : [Math.min(lo, hi), Math.max(lo, hi)]));
      }
      if (keep[keep.length - 1] !== n - 1) keep.push(n - 1); // the newest point, where the next ones join
    }
    const xAll = xs(d);
    return { x: keep.map((k) => xAll[k]), y: keep.map((k) => ys[k]), customdata: keep.map((k) => [d.it[k], d.ep[k]]) };
  }

  function traces(spots) {
    const out = [];
    const hv = (name, what) => `<b>${name}</b> · ${what}<br>${t("cnt.iteration")} %{customdata[0]:,} · ${t("cnt.epoch")} %{customdata[1]:.2f}<br>${t("loss.y")} %{y:.4g}<extra></extra>`;
    runs.forEach((r, i) => {
      const d = data[i];
      const name = tOr("run.", r.name);
      out.push({ type: "scatter", mode: "lines", name, ...thinned(d, d.bl),
        line: { color: r.color, width: 1 }, opacity: 0.4, hovertemplate: hv(name, t("loss.batch")), showlegend: false });
      out.push({ type: "scatter", mode: "lines", name, ...thinned(d, d.l),
        line: { color: r.color, width: 3.5, dash: r.dash }, hovertemplate: hv(name, t("loss.full")), showlegend: false });
      const h = spots[i] ? { x: [spots[i].x], y: [spots[i].y] } : { x: [], y: [] };
      out.push({ type: "scatter", mode: "text", x: h.x, y: h.y, customdata: [], text: headLabel(i), textposition: "middle right",
        textfont: { color: r.color, size: plotFont(), family: FONT, weight: 700 }, hoverinfo: "skip", showlegend: false, cliponaxis: false });
      d.from = d.it.length;
    });
    if (extra) out.push(...extra(xmode)); // repeats.js: the bands, last
    return out;
  }

  /** Each run's end label: beside the end of its curve, nudged up or down clear of the labels
   *  before it, or null where there is no room (the run cards still name the run). */
  function placeHeads(px = pixels(div)) {
    const heads = runs.map((_, i) => headXY(i));
    const at = (h) => (h.x.length ? { x: h.x[0], y: h.y[0] } : null);
    if (!px) return heads.map(at);
    const size = plotFont(), step = 0.6 * size;
    const labels = heads.map((h, i) => {
      if (!h.x.length) return { boxes: [] };
      const x = px.x(h.x[0]), y = px.y(h.y[0]), { w } = measure(headLabel(i), size);
      return { y, boxes: NUDGES.map((k) => boxAt("middle right", x, y + k * step, 0, size, w)) };
    });
    const b = px.plot;
    const chosen = place(labels, { x0: b.x0, y0: b.y0 - 6, x1: px.width, y1: b.y1 + 6 });
    return heads.map((h, i) => (!h.x.length ? null : chosen[i] < 0 ? { x: h.x[0], y: null }
      : chosen[i] === 0 ? at(h) : { x: h.x[0], y: px.toY(labels[i].y + NUDGES[chosen[i]] * step) }));
  }
  const headIdx = () => runs.map((_, i) => 3 * i + 2);
  /** The data → pixel mapping the next draw will have, its linear axes set ahead (else null). */
  function pixelsAhead() {
    const px = pixels(div);
    if (!px || logY || !yTop) return null;
    const b = px.plot, w = b.x1 - b.x0, h = b.y1 - b.y0;
    return { ...px, x: (v) => b.x0 + (v / xTop) * w, y: (v) => b.y1 - (v / yTop) * h, toY: (p) => ((b.y1 - p) / h) * yTop };
  }

  /** Place the end labels again for the axes as drawn now; redraw them only if they moved (true). */
  function settle() {
    const want = placeHeads(), px = pixels(div);
    const near = (a, b) => a === b || (a !== null && b !== null && Math.abs(px.y(a) - px.y(b)) < 1);
    const same = (a, b) => (!a && !b) || (a && b && a.x === b.x && near(a.y, b.y));
    if (!px || want.every((w, i) => same(w, shown[i]))) return false;
    Plotly.restyle(div, { x: want.map((w) => (w ? [w.x] : [])), y: want.map((w) => (w ? [w.y] : [])) }, headIdx());
    shown = want;
    return true;
  }

  function shapes() {
    if (cursor === null) return [];
    const line = (x, color) => ({ type: "line", xref: "x", yref: "paper", x0: x, x1: x, y0: 0, y1: 1,
      line: { color, width: 2.5, dash: "dot" } });
    if (xmode === "iterations") return [line(cursor, INK)];
    return runs.map((r, i) => {
      const k = lastLE(data[i].it, cursor);
      return k < 0 ? null : line(xmode === "epochs" ? data[i].ep[k] : data[i].smp[k], r.color);
    }).filter(Boolean);
  }
  function setCursor(k) { cursor = k; dirtyCursor = true; }

  function layout() {
    return plotLayout({
      margin: { l: 58, r: 110, t: 6, b: 46 }, plot_bgcolor: "#fff", uirevision: `${xmode}`, shapes: shapes(),
      xaxis: { title: { text: t(`loss.x.${xmode}`), standoff: 2 }, gridcolor: GRID, zeroline: false, range: [0, xTop], autorange: false,
        tickformat: xmode === "epochs" ? "" : ",.6~r", hoverformat: ".2f" },
      yaxis: { title: { text: t("loss.y"), standoff: 4 }, gridcolor: GRID, zeroline: false, type: logY ? "log" : "linear",
        ...(logY || !yTop ? { autorange: true } : { range: [0, yTop], autorange: false }),
        exponentformat: "power" },
    });
  }

  function build() {
    if (!window.Plotly) return;
    xTop = aheadOf(maxX()); yTop = 0; grownY();
    shown = placeHeads(pixelsAhead()); // placed for the axes about to be drawn: no second call
    Plotly.react(div, traces(shown), layout(), plotConfig([div], "descent-loss"));
    dirtyCursor = false;
    drawn = true;
    dirtyHeads = false;
    if (!listening && div.on) {
      listening = true;
      div.on("plotly_relayout", (e) => { if (e && e.autosize && drawn) { dirtySettle = true; request(); } });
    }
    settle();
  }

  function push(i, points) {
    const d = data[i];
    const r = runs[i];
    if (!d) return;
    for (const p of points) {
      d.it.push(p.iteration);
      d.ep.push(p.iteration / r.ipe);
      d.smp.push(isFiniteNum(p.samples) ? p.samples : null);
      d.bl.push(isFiniteNum(p.batch_loss) ? p.batch_loss : null);
      d.l.push(isFiniteNum(p.loss) ? p.loss : null);
      if (isFiniteNum(p.loss) && p.loss > maxFull) maxFull = p.loss;
    }
  }

  /** The largest x any curve reached, on the current x axis. */
  function maxX() {
    let m = 0;
    for (const d of data) for (const v of [d.it, d.ep, d.smp][["iterations", "epochs", "samples"].indexOf(xmode)].slice(-1)) if (v > m) m = v;
    return m;
  }
  /** The x axis end for curves reaching m: the next of 1, 1.5, 2, 3, 5, 7.5 × 10^k above it. */
  function aheadOf(m) {
    if (!(m > 0)) return 1;
    const p = 10 ** Math.floor(Math.log10(m));
    return p * [1, 1.5, 2, 3, 5, 7.5, 10].find((k) => k * p > m);
  }
  // Linear axis: fit the bold full-data curves; the noisy thin batch losses may leave the top.
  function grownY() {
    if (logY || !(maxFull > 0) || maxFull <= yTop / 1.12 + 1e-12) return false;
    yTop = maxFull * 1.12;
    return true;
  }

  /** Apply what arrived since the last draw: "drew" after a Plotly call, else false. */
  function flush() {
    if (!window.Plotly || !runs.length) return false;
    if (!drawn) { build(); return "drew"; }
    let drew = false;
    if (dirtyCursor) { dirtyCursor = false; Plotly.relayout(div, { shapes: shapes() }); drew = true; }
    const pending = data.some((d) => d.from < d.it.length);
    if (pending && (maxX() >= xTop || grownY())) {
      build(); // the axes grow: everything again in one react
      return "drew";
    }
    if (pending) {
      const upd = { x: [], y: [], customdata: [] };
      const idx = [];
      const maxp = { x: [], y: [], customdata: [] };
      data.forEach((d, i) => {
        if (d.from >= d.it.length) return;
        const from = d.from;
        const xx = xs(d, from), cd = custom(d, from);
        upd.x.push(xx, xx.slice()); upd.y.push(d.bl.slice(from), d.l.slice(from)); upd.customdata.push(cd, cd.slice());
        idx.push(3 * i, 3 * i + 1);
        for (const k of ["x", "y", "customdata"]) maxp[k].push(-1, -1);
        d.from = d.it.length;
      });
      // every end label, placed for the axes as last drawn (one run's may move for another's)
      const spots = placeHeads();
      spots.forEach((s, i) => {
        if (!s) return;
        upd.x.push([s.x]); upd.y.push([s.y]); upd.customdata.push([]);
        idx.push(3 * i + 2);
        maxp.x.push(1); maxp.y.push(1); maxp.customdata.push(1);
      });
      Plotly.extendTraces(div, upd, idx, maxp);
      shown = spots;
      drew = true;
    }
    if (dirtyHeads) { relabelHeads(); drew = true; } else if (pending || dirtySettle) drew = settle() || drew;
    dirtySettle = false;
    return drew && "drew";
  }

  function relabelHeads() {
    dirtyHeads = false;
    if (!runs.length) return;
    Plotly.restyle(div, { text: runs.map((r, i) => headLabel(i)) }, headIdx());
    settle();
  }

  function headLabel(i) {
    const name = tOr("run.", runs[i].name);
    return `${runs[i].glyph} ${diverged.has(runs[i].name) ? `✕ ${name}` : name}`; // the glyph of its surface marker
  }
  function setStatus(i, status) {
    if (!runs[i]) return;
    const was = diverged.has(runs[i].name);
    if (status === "diverged") diverged.add(runs[i].name); else diverged.delete(runs[i].name);
    if (was !== diverged.has(runs[i].name)) dirtyHeads = true;
  }

  function setXMode(m) { xmode = m; if (runs.length) build(); }
  function setLog(on) {
    logY = on;
    if (!drawn || !window.Plotly) return;
    build();
  }
  function relabel() { if (runs.length) build(); }

  return { reset, setRuns, push, flush, setXMode, setLog, setStatus, relabel, setCursor,
    get logY() { return logY; }, get xmode() { return xmode; } };
}
