// The loss surface (the hero): contour or 3-D, the runs' paths drawn live, start ●, minimum ✕,
// and for the inspected run the −∇L / −∇L_B arrows, the batch-loss ghost (3-D) and, on request,
// the batch's own surface.
//
// Contour view = two stacked plots with identical axes: the background holds the contour (drawn
// by Plotly.react only when the surface changes), the foreground holds only the light scatter
// traces, restyled in one call per drawn frame (paths, heads, labels, arrows). Recomputing a
// contour on every frame would cost
// far more than the paths themselves. The 3-D view is one WebGL scene. Reading the grid itself
// (ranges, loss levels, a value between grid points, the caption) is surfacegrid.js.

import { t, tOr } from "./i18n.js";
import { runColor, runDash, runSymbol, fmt, fmtInt, INK, MUTED, FONT, plotFont, isFiniteNum, lastLE, plotConfig, plotLayout, stackedLayers } from "./common.js";
import { ranges, clampTo, zLevels, displayZ, colorbar, zAt, gridValue, minimumLabelPosition, captionText } from "./surfacegrid.js";
import { pixels, measure, boxAt, place, AROUND } from "./labels.js";

const MAX_PATH = 3000; // points per drawn path: the latest ones (the loss chart keeps everything)
const POSITIONS = ["top right", "bottom right", "top left", "bottom left", "middle right", "middle left"];
const HALO = "0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff, 0 0 1px #fff";
const SCALE = [[0, "#ffffff"], [0.35, "#e9edf2"], [0.7, "#c5ced8"], [1, "#8b97a5"]];
const SCALE_3D = [[0, "#dde2e8"], [0.5, "#b7c0ca"], [1, "#7d8793"]]; // no white: the sheet must show on white
const BATCH_SCALE = [[0, "#6a3d9a"], [1, "#6a3d9a"]];
const margin = () => ({ l: 58, r: 36 + 3.4 * plotFont(), t: 10, b: 44, autoexpand: false }); // room for the colour bar
const BATCH_REFRESH_MS = 700;
const MARK = { start: 14, minimum: 20, head: 15, arrow: 16 }; // 2-D marker diameters (px)
// scatter3d knows fewer marker symbols: the 2-D symbol a run has, in 3-D
const SYMBOLS_3D = { circle: "circle", square: "square", diamond: "diamond", "triangle-up": "diamond-open", cross: "cross", star: "square-open" };

export function createSurface(root, { emptyEl, captionEl, request, extra }) {
  const [bg, fg] = stackedLayers(root, "layer layer-bg", "layer layer-fg");

  let runs = [];        // [{name, color}]
  let paths = [];       // per run {x, y, z, it, pending, res}
  let surface = null;   // the last `surface` message (+ n_params)
  let view = "contour";
  let showBatch = false;
  let batchZ = null;
  let batchShownAt = 0;
  let detail = null;    // the inspected run's latest detail
  let statuses = [];    // per run {status, iteration}
  let drawn = false;
  let dirtyOverlay = false;
  let dirtyBatch = false;
  let zInfo = null;     // the surface's loss levels (zLevels)
  let cursor = null;    // timeline: show every path up to this iteration (null = live)
  let dirtyCursor = false;
  let arrows = {};      // the −∇L and −∇L_B arrows' tips, for their labels
  let placed = {};      // each label's last textposition (kept while it stays clear)
  let listening = false; // for the plot's resizes (which move the labels' points on screen)

  const three = () => view === "3d";
  // Foreground trace order: [3-D only: surface, batch surface], per run (path, head), start,
  // minimum, ghost, −∇L arrow, −∇L_B arrow.
  const base = () => (three() ? 2 : 0);
  const tPath = (i) => base() + 2 * i;
  const tHead = (i) => base() + 2 * i + 1;
  const tStart = () => base() + 2 * runs.length;
  const tGhost = () => tStart() + 2;
  const tArrowFull = () => tStart() + 3;
  const tArrowBatch = () => tStart() + 4;

  function reset() {
    runs = []; paths = []; surface = null; batchZ = null; detail = null; statuses = []; cursor = null; arrows = {}; placed = {};
    drawn = false; dirtyOverlay = false; dirtyBatch = false; listening = false;
    if (window.Plotly) { Plotly.purge(bg); Plotly.purge(fg); }
    emptyEl.hidden = false;
    captionEl.textContent = "";
  }

  function setRuns(list) {
    runs = list.map((r) => ({ name: r.name, color: runColor(r), dash: runDash(r), symbol: runSymbol(r) }));
    paths = runs.map(() => ({ x: [], y: [], z: [], it: [], pending: 0 }));
    statuses = runs.map(() => ({ status: "running", iteration: 0 }));
    detail = null; batchZ = null; drawn = false;
  }

  // ---- helpers
  /** How many stored points of path i are shown: all, or those up to the timeline's cursor. */
  function cut(i) { const p = paths[i]; return cursor === null ? p.x.length : lastLE(p.it, cursor) + 1; }
  const lifted = (v) => (isFiniteNum(v) ? v + zInfo.lift : null);
  /** Height of a path point in 3-D. Exact: its loss (it lies on the surface). Projected: the
   *  plane's own value under it (read off the server's grid), so the path stays on the sheet it
   *  is drawn on, as in the contour view; the caption gives the residual. */
  function pathZ(x, y, loss) {
    if (surface.kind === "exact") return lifted(loss);
    return lifted(gridValue(surface, x, y));
  }

  /** Path i as drawn: its latest MAX_PATH points (up to the cursor), from the shared start point. */
  function pathXYZ(i) {
    const p = paths[i], n = cut(i), from = Math.max(0, n - MAX_PATH);
    const x = p.x.slice(from, n), y = p.y.slice(from, n);
    const out = from ? { x, y } : { x: [surface.start[0], ...x], y: [surface.start[1], ...y] };
    if (three()) {
      const z = x.map((v, k) => pathZ(v, y[k], p.z[from + k]));
      out.z = from ? z : [lifted(zAt(surface, zInfo, surface.start)), ...z];
    }
    return out;
  }

  function headText(i) {
    const st = statuses[i];
    if (st && st.status === "diverged") return t("status.diverged_at", { i: fmtInt(st.iteration) });
    return tOr("run.", runs[i].name);
  }
  function headPoint(i) {
    const p = paths[i];
    const n = cut(i);
    let x = n ? p.x[n - 1] : surface.start[0];
    let y = n ? p.y[n - 1] : surface.start[1];
    const z = n ? p.z[n - 1] : zAt(surface, zInfo, surface.start);
    if (statuses[i] && statuses[i].status === "diverged") {
      // a diverged run's last finite point may be far off the map: pin its label to the edge
      const r = ranges(surface);
      x = clampTo(x, r.x); y = clampTo(y, r.y);
    }
    return { x, y, z };
  }

  /** Every run's head; diverged runs pinned to the map's edge, nudged apart so no label hides another. */
  function headPoints() {
    const out = runs.map((_, i) => headPoint(i));
    const r = ranges(surface);
    const sx = Math.abs(r.x[1] - r.x[0]), sy = Math.abs(r.y[1] - r.y[0]);
    const midY = (r.y[0] + r.y[1]) / 2;
    for (let i = 0; i < out.length; i++) {
      if (!statuses[i] || statuses[i].status !== "diverged") continue;
      for (let tries = 0; tries < out.length; tries++) {
        const clash = out.some((o, k) => k < i && statuses[k] && statuses[k].status === "diverged" &&
          Math.abs(o.x - out[i].x) < 0.3 * sx && Math.abs(o.y - out[i].y) < 0.07 * sy);
        if (!clash) break;
        out[i] = { ...out[i], y: out[i].y + (out[i].y > midY ? -0.08 : 0.08) * sy * Math.sign(r.y[1] - r.y[0]) };
      }
    }
    return out;
  }

  function headPosition(i, h) {
    // a diverged run's label sits on the map's edge: point it inwards so it stays readable
    if (!statuses[i] || statuses[i].status !== "diverged") return POSITIONS[i % POSITIONS.length];
    const r = ranges(surface);
    const right = h.x > (r.x[0] + r.x[1]) / 2, top = h.y > (r.y[0] + r.y[1]) / 2;
    return `${top ? "bottom" : "top"} ${right ? "left" : "right"}`;
  }

  /** "minimum" for the exact least-squares one; otherwise the lowest point of the grid. */
  function minimumText() { return t(surface.kind === "exact" && surface.lambda_max ? "surface.minimum" : "surface.lowest"); }

  /** Every label's text and textposition, by key; in 2-D placed so that no two overlap: in
   *  order of importance, each takes the first clear place around its point, else is left out. */
  function arrange(heads) {
    const px = !three() && pixels(fg);
    const labels = [{ key: "start", xy: surface.start, text: t("surface.start"), size: plotFont(-1), marker: MARK.start,
      prefs: ["middle left", "top left", "bottom left"] }];
    for (const k of ["full", "batch"]) {
      const a = arrows[k];
      if (a) labels.push({ key: k, xy: a.tip, text: a.label, size: plotFont(), marker: MARK.arrow, prefs: [px ? beyond(px, a) : "top center"] });
    }
    if (surface.minimum) labels.push({ key: "minimum", xy: surface.minimum, text: minimumText(), size: plotFont(-1),
      marker: MARK.minimum, prefs: [minimumLabelPosition(surface)] });
    const order = heads.map((_, i) => i).sort((a, b) => isDiverged(b) - isDiverged(a)); // diverged first
    for (const i of order) labels.push({ key: `h${i}`, xy: [heads[i].x, heads[i].y], text: headText(i), size: plotFont(2),
      marker: MARK.head, prefs: [headPosition(i, heads[i])] });
    const out = {};
    if (!px) { for (const l of labels) out[l.key] = { text: l.text, pos: l.prefs[0] }; return out; }
    const xy = (l) => [px.x(l.xy[0]), px.y(l.xy[1])];
    const candidates = labels.map((l) => {
      const [x, y] = xy(l), { w } = measure(l.text, l.size);
      const pos = [...new Set([placed[l.key], ...l.prefs, ...AROUND].filter(Boolean))];
      return { pos, boxes: pos.map((p) => boxAt(p, x, y, l.marker, l.size, w)) };
    });
    // the start and minimum markers stay uncovered (their boxes shrunk by the gap place() adds)
    const taken = labels.filter((l) => l.key === "start" || l.key === "minimum").map((l) => {
      const [x, y] = xy(l), r = Math.max(1, l.marker / 2 - 6);
      return { x0: x - r, y0: y - r, x1: x + r, y1: y + r };
    });
    const b = px.plot, slack = 6;
    const chosen = place(candidates, { x0: b.x0 - slack, y0: b.y0 - slack, x1: b.x1 + slack, y1: b.y1 + slack }, taken);
    labels.forEach((l, k) => {
      const c = chosen[k];
      out[l.key] = c < 0 ? { text: "", pos: l.prefs[0] } : { text: l.text, pos: candidates[k].pos[c] };
      if (c >= 0) placed[l.key] = candidates[k].pos[c];
    });
    return out;
  }
  /** The place just beyond an arrow's tip, on screen. */
  function beyond(px, a) {
    const dx = px.x(a.tip[0]) - px.x(a.from[0]), dy = px.y(a.tip[1]) - px.y(a.from[1]), n = Math.hypot(dx, dy) || 1;
    const pos = `${dy / n < -0.4 ? "top" : dy / n > 0.4 ? "bottom" : "middle"} ${dx / n > 0.4 ? "right" : dx / n < -0.4 ? "left" : "center"}`;
    return pos === "middle center" ? "top center" : pos;
  }
  const isDiverged = (i) => (statuses[i] && statuses[i].status === "diverged" ? 1 : 0);

  // ---- figures
  function backgroundTraces() {
    return [
      { type: "contour", x: surface.x, y: surface.y, z: displayZ(surface.z, zInfo.log), customdata: surface.z,
        colorscale: SCALE, ncontours: 24, contours: { coloring: "heatmap", showlines: true },
        line: { color: "rgba(82,96,109,0.35)", width: 0.6, smoothing: 0.8 }, colorbar: colorbar(zInfo, zInfo.log),
        hovertemplate: `${tOr("axis.", surface.labels[0])} %{x:.3g}<br>${tOr("axis.", surface.labels[1])} %{y:.3g}<br>${t("surface.loss")} %{customdata:.4g}<extra></extra>` },
      // the batch's own surface only while shown: a hidden contour trace trips Plotly on resize
      ...(showBatch && batchZ && surface.kind === "exact" ? [{ type: "contour", x: surface.x, y: surface.y, z: displayZ(batchZ, zInfo.log),
        showscale: false, ncontours: 16, contours: { coloring: "lines" }, colorscale: BATCH_SCALE,
        line: { width: 1.6, dash: "dash" }, hoverinfo: "skip", visible: true }] : []),
    ];
  }

  function foregroundTraces() {
    const is3 = three();
    const sc = is3 ? "scatter3d" : "scatter";
    const traces = [];
    if (is3) {
      traces.push({ type: "surface", x: surface.x, y: surface.y, z: surface.z, colorscale: SCALE_3D, opacity: 0.95,
        showscale: true, colorbar: colorbar(zInfo, false), hoverinfo: "skip",
        contours: { z: { show: true, usecolormap: false, color: "#9aa5b1", width: 1 } } });
      const on = !!(showBatch && batchZ && surface.kind === "exact");
      traces.push({ type: "surface", x: surface.x, y: surface.y, z: on ? batchZ : [[0, 0], [0, 0]], colorscale: BATCH_SCALE,
        opacity: 0.25, showscale: false, hoverinfo: "skip", visible: on });
    }
    const zStart = is3 ? lifted(zAt(surface, zInfo, surface.start)) : undefined;
    const heads = headPoints();
    const textfont = (color, size, bold) => ({ color, size, family: FONT, ...(bold ? { weight: 700 } : {}), ...(is3 ? {} : { shadow: HALO }) });
    runs.forEach((run, i) => {
      traces.push({ type: sc, mode: "lines", ...pathXYZ(i), line: { color: run.color, width: is3 ? 5 : 2.5, dash: run.dash },
        hoverinfo: "skip", showlegend: false });
      const h = heads[i];
      const head = { type: sc, mode: "markers+text", x: [h.x], y: [h.y], text: headText(i),
        textposition: headPosition(i, h), textfont: textfont(run.color, plotFont(2), true),
        marker: { size: is3 ? 7 : MARK.head, symbol: is3 ? SYMBOLS_3D[run.symbol] || "circle" : run.symbol, color: run.color, line: { color: "#fff", width: 2 } },
        hoverinfo: "skip", showlegend: false };
      if (is3) head.z = [pathZ(h.x, h.y, h.z)]; else head.cliponaxis = false;
      traces.push(head);
    });
    const marker = (xy, z, mk, text, pos) => {
      const tr = { type: sc, mode: "markers+text", x: [xy[0]], y: [xy[1]], marker: mk, text: [text], textposition: pos,
        textfont: textfont(INK, plotFont(-1), true), hoverinfo: "skip", showlegend: false };
      if (is3) tr.z = [z]; else tr.cliponaxis = false;
      return tr;
    };
    traces.push(marker(surface.start, zStart, { symbol: "circle", size: is3 ? 6 : 14, color: INK, line: { color: "#fff", width: 2 } },
      t("surface.start"), "middle left"));
    const zMin = is3 ? lifted(isFiniteNum(surface.minimum_loss) ? surface.minimum_loss : zInfo.lo) : undefined;
    traces.push(marker(surface.minimum || [null, null], zMin,
      { symbol: is3 ? "diamond" : "x-thin", size: is3 ? 6 : MARK.minimum, color: INK, line: { color: INK, width: 4 } }, minimumText(), minimumLabelPosition(surface)));
    // ghost (3-D: the batch loss above/below the surface) and the two arrows, filled by overlay()
    traces.push({ type: sc, mode: "markers+text", x: [], y: [], ...(is3 ? { z: [] } : { cliponaxis: false }), text: [],
      marker: { symbol: is3 ? "diamond-open" : "circle-open", size: is3 ? 8 : 22, color: MUTED, line: { width: 2, color: MUTED } },
      textposition: "top left", textfont: textfont(MUTED, plotFont(-1), true), hoverinfo: "skip", showlegend: false });
    for (let k = 0; k < 2; k++) {
      const tr = { type: sc, mode: "lines+markers+text", x: [], y: [], text: [], textposition: "top center",
        line: { width: 3.5, color: INK }, textfont: textfont(INK, plotFont(), true), hoverinfo: "skip", showlegend: false };
      if (is3) { tr.z = []; tr.marker = { size: [0, 5], color: INK }; } else {
        tr.marker = { symbol: "arrow", angleref: "previous", size: [0, 16], color: INK, line: { width: 0 } };
        tr.cliponaxis = false;
      }
      traces.push(tr);
    }
    if (extra) traces.push(...extra(is3, surface.start)); // repeats.js: the faint paths, last
    return traces;
  }

  function axes(showAxes) {
    const r = ranges(surface);
    const common = { zeroline: false, showgrid: false, fixedrange: true, ticks: showAxes ? "outside" : "", visible: showAxes };
    return {
      xaxis: { ...common, range: r.x, title: { text: tOr("axis.", surface.labels[0]), standoff: 4 } },
      yaxis: { ...common, range: r.y, title: { text: tOr("axis.", surface.labels[1]), standoff: 4 } },
    };
  }
  function layoutBase() {
    return plotLayout({ margin: margin(), plot_bgcolor: "rgba(0,0,0,0)" });
  }
  function layoutFg() {
    const lay = layoutBase();
    if (three()) {
      const r = ranges(surface);
      lay.margin = { l: 0, r: 0, t: 0, b: 0 };
      lay.uirevision = "3d";
      lay.scene = {
        xaxis: { title: { text: tOr("axis.", surface.labels[0]) }, range: r.x },
        yaxis: { title: { text: tOr("axis.", surface.labels[1]) }, range: r.y },
        zaxis: { title: { text: t("surface.loss") }, range: [zInfo.lo, zInfo.hi + (zInfo.hi - zInfo.lo) * 0.05] },
        camera: { eye: { x: 1.45, y: -1.55, z: 1.05 } }, aspectmode: "manual", aspectratio: { x: 1.3, y: 1, z: 0.7 },
      };
      return lay;
    }
    return { ...lay, ...axes(false), dragmode: false };
  }
  // The axes are drawn on the background, redrawn only with the contour: every foreground
  // redraw skips laying out their ticks again.
  function layoutBg() { return { ...layoutBase(), ...axes(true), dragmode: false }; }

  function redraw() {
    if (!surface || !window.Plotly) return;
    emptyEl.hidden = true;
    zInfo = zLevels(surface.z);
    for (const p of paths) p.pending = 0; // the figure is built from the stored paths
    root.classList.toggle("is-3d", three());
    if (three()) Plotly.purge(bg); else Plotly.react(bg, backgroundTraces(), layoutBg(), plotConfig());
    Plotly.react(fg, foregroundTraces(), layoutFg(), plotConfig([bg, fg], "descent-surface"));
    drawn = true;
    if (!listening && fg.on) { // a resized plot: its labels placed again for their new pixels
      listening = true;
      fg.on("plotly_relayout", (e) => { if (e && e.autosize && drawn && surface) { dirtyOverlay = true; request(); } });
    }
    overlay();
  }

  // ---- streaming
  function push(i, points) {
    const p = paths[i];
    if (!p) return;
    for (const q of points) {
      const xy = q.xy;
      if (!xy || !isFiniteNum(xy[0]) || !isFiniteNum(xy[1])) continue;
      p.x.push(xy[0]); p.y.push(xy[1]); p.z.push(isFiniteNum(q.loss) ? q.loss : null); p.it.push(q.iteration);
      p.pending += 1;
    }
    if (p.x.length > MAX_PATH * 1.5) {
      const cut = p.x.length - MAX_PATH;
      p.x.splice(0, cut); p.y.splice(0, cut); p.z.splice(0, cut); p.it.splice(0, cut);
      p.pending = Math.min(p.pending, p.x.length);
    }
  }

  /** Every point of run i again (after a re-projection moved them onto a new plane). */
  function load(i, points) {
    const p = paths[i];
    if (!p) return;
    p.x = []; p.y = []; p.z = []; p.it = [];
    push(i, points);
  }
  function setCursor(k) { cursor = k; dirtyCursor = true; }

  function setStatus(i, status, iteration) {
    if (!statuses[i]) return;
    const was = statuses[i].status;
    statuses[i] = { status, iteration };
    if (was !== status) dirtyOverlay = true;
  }

  /** Apply buffered points and labels in one Plotly call: "drew", or true if the batch surface waits. */
  function flush(now) {
    if (!surface || !window.Plotly) return false;
    if (!drawn) { redraw(); return "drew"; }
    if (dirtyCursor) {
      dirtyCursor = false;
      if (cursor === null) redraw(); // back to live: rebuilt from every stored point
      else { Plotly.react(fg, foregroundTraces(), layoutFg(), plotConfig([bg, fg], "descent-surface")); overlay(); }
      return "drew";
    }
    const pendingAny = cursor === null && paths.some((p) => p.pending > 0); // scrubbed back, new points wait
    if (dirtyBatch && (cursor !== null || now - batchShownAt > BATCH_REFRESH_MS)) { drawBatch(now); caption(); return "drew"; }
    if (!pendingAny && !dirtyOverlay) return dirtyBatch;
    overlay(pendingAny);
    return "drew";
  }

  // ---- the inspected run: arrows, ghost, batch surface, head labels
  function setDetail(d) {
    detail = d;
    if (d && d.batch_surface && Array.isArray(d.batch_surface.z)) { batchZ = d.batch_surface.z; dirtyBatch = true; }
    dirtyOverlay = true;
  }
  function setBatchVisible(on) {
    showBatch = on;
    // live, the server's reply brings the current batch's surface; scrubbed back, the last one shows again
    if (on && cursor === null) batchZ = null;
    dirtyBatch = true;
    dirtyOverlay = true;
  }
  function drawBatch(now) {
    dirtyBatch = false;
    batchShownAt = now;
    if (!drawn) return;
    const on = !!(showBatch && batchZ && surface.kind === "exact");
    if (!three()) { Plotly.react(bg, backgroundTraces(), layoutBg(), plotConfig()); return; }
    Plotly.restyle(fg, { z: [on ? batchZ : [[0, 0], [0, 0]]], visible: [on] }, [1]);
  }

  function originOf(d, i) {
    // where the step started: the server's `at_xy` (the parameters before the update, on the plane)
    if (Array.isArray(d.at_xy) && isFiniteNum(d.at_xy[0]) && isFiniteNum(d.at_xy[1])) {
      return { x: d.at_xy[0], y: d.at_xy[1], z: isFiniteNum(d.loss_before) ? d.loss_before : null };
    }
    const p = paths[i];
    if (d.iteration <= 1) return { x: surface.start[0], y: surface.start[1], z: null };
    for (let k = p.it.length - 1; k >= 0; k--) {
      if (p.it[k] === d.iteration - 1) return { x: p.x[k], y: p.y[k], z: p.z[k] };
      if (p.it[k] < d.iteration - 1) break;
    }
    return null;
  }

  /** The labels, heads, ghost and arrows (and, with `withPaths`, every path) in one restyle. */
  function overlay(withPaths = false) {
    dirtyOverlay = false;
    if (!drawn || !surface) return;
    const is3 = three();
    const i = detail ? runs.findIndex((r) => r.name === detail.run) : -1;
    const o = i >= 0 ? originOf(detail, i) : null;
    const none = () => ({ x: [], y: [], text: [], z: [] });
    let ghost = none(), full = none(), batch = none();
    arrows = {};
    if (o) {
      const zO = surface.kind === "exact" ? lifted(isFiniteNum(o.z) ? o.z : zAt(surface, zInfo, [o.x, o.y])) : pathZ(o.x, o.y, null);
      if (is3 && surface.kind === "exact" && isFiniteNum(detail.batch_loss)) {
        ghost = { x: [o.x], y: [o.y], z: [lifted(detail.batch_loss)], text: [t("surface.ghost", { v: fmt(detail.batch_loss, 3) })] };
      }
      // grad_xy / full_grad_xy point downhill already (they are −∇ on the drawn plane)
      const g = detail.full_grad_xy, gb = detail.grad_xy;
      if (Array.isArray(g) && Array.isArray(gb) && [...g, ...gb].every(isFiniteNum)) {
        const r = ranges(surface);
        const span = Math.min(Math.abs(r.x[1] - r.x[0]), Math.abs(r.y[1] - r.y[0]));
        const big = Math.max(Math.hypot(g[0], g[1]), Math.hypot(gb[0], gb[1]));
        if (big > 0) {
          const s = (0.2 * span) / big; // the longer arrow is 20% of the view; both share one scale
          const arrow = (v) => ({ x: [o.x, o.x + s * v[0]], y: [o.y, o.y + s * v[1]], z: [zO, zO] });
          full = arrow(g);
          batch = arrow(gb);
          arrows = { full: { from: [o.x, o.y], tip: [full.x[1], full.y[1]], label: "−∇L" },
            batch: { from: [o.x, o.y], tip: [batch.x[1], batch.y[1]], label: "−∇L_B" } };
        }
      }
    }
    const color = i >= 0 ? runs[i].color : INK;
    const heads = headPoints();
    const L = arrange(heads);
    const tip = (k) => (L[k] ? ["", L[k].text] : []);
    const U = undefined;
    // One restyle for all of it; `undefined` leaves a trace's attribute alone.
    const idx = [tStart(), tStart() + 1, tGhost(), tArrowFull(), tArrowBatch(), ...runs.map((_, k) => tHead(k))];
    const upd = {
      x: [U, U, ghost.x, full.x, batch.x, ...heads.map((h) => [h.x])],
      y: [U, U, ghost.y, full.y, batch.y, ...heads.map((h) => [h.y])],
      text: [[L.start.text], [L.minimum ? L.minimum.text : ""], ghost.text, tip("full"), tip("batch"), ...runs.map((_, k) => L[`h${k}`].text)],
      textposition: [L.start.pos, L.minimum ? L.minimum.pos : U, U, L.full ? L.full.pos : U, L.batch ? L.batch.pos : U,
        ...runs.map((_, k) => L[`h${k}`].pos)],
      "line.color": [U, U, U, U, color, ...runs.map(() => U)],
      "marker.color": [U, U, U, U, color, ...runs.map(() => U)],
      "textfont.color": [U, U, U, U, color, ...runs.map(() => U)],
    };
    if (is3) upd.z = [U, U, ghost.z, full.z, batch.z, ...heads.map((h) => [pathZ(h.x, h.y, h.z)])];
    if (withPaths) {
      runs.forEach((_, k) => {
        const xyz = pathXYZ(k);
        paths[k].pending = 0;
        idx.push(tPath(k));
        for (const key of Object.keys(upd)) upd[key].push(key in xyz ? xyz[key] : U);
      });
    }
    Plotly.restyle(fg, upd, idx);
    caption();
  }


  function caption() { captionEl.textContent = captionEl.title = surface ? captionText(surface, detail, showBatch) : ""; }

  function setSurface(msg, nParams) {
    surface = { ...msg, n_params: nParams };
    redraw();
  }
  function setResidual(summary) {
    if (surface && summary && isFiniteNum(summary.mean)) { surface.residual = summary; if (drawn) caption(); }
  }
  function setView(v) { view = v; if (surface) redraw(); }
  function relabel() { if (surface) redraw(); }

  return { reset, setRuns, setSurface, setResidual, push, load, setCursor, flush, setStatus, setDetail, setBatchVisible, setView, relabel,
    get view() { return view; }, get hasSurface() { return !!surface; }, layers: { bg, fg } };
}
