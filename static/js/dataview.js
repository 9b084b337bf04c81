// The dataset and the inspected run's current model: a fitted line for regression, the
// probability grid (and its 0.5 boundary) for classification. Numbers come from `detail.prediction`.

import { t, tOr } from "./i18n.js";
import { CLASS_COLORS, CLASS_SYMBOLS, INK, GRID, plotFont, isFiniteNum, plotConfig, plotLayout, stackedLayers } from "./common.js";

export function createDataView(root) {
  // Two stacked plots with identical axes: the dataset (up to 5,000 points, drawn once per run)
  // and the model's prediction (redrawn a few times per second). Classification puts the
  // probability map under the points; regression puts the fitted line over them.
  const [lower, upper] = stackedLayers(root, "layer", "layer layer-top");
  let ds = null;        // {task, n_classes, X, y}
  let dataTraces = [];  // built once per dataset (same arrays => cheap Plotly.react)
  let ranges = null;
  let pred = null;      // latest prediction of the inspected run
  let color = INK;
  let runName = "";
  let dirty = false;

  let staticDrawn = false;

  function reset() {
    ds = null; dataTraces = []; pred = null; dirty = false; staticDrawn = false;
    if (window.Plotly) { Plotly.purge(lower); Plotly.purge(upper); }
  }

  function label(v) { return Array.isArray(v) ? v[0] : v; }

  // custom data, standardized: drawn in its own units (raw = X · scale + shift), the model too
  let raw;
  function setDataset(dataset, keepPred) {
    const { shift: m, scale: s } = dataset, f = (u, j) => (m ? u * s[j] + m[j] : u);
    if (!keepPred) { raw = (v, j) => v.map((u) => f(u, j)); pred = null; } // an edit: the race's units
    ds = { ...dataset, X: dataset.X.map((r) => r.map(f)) };
    const was = keepPred && ranges;
    buildData();
    // an edit: the view only grows, so the next click lands where the pointer is
    if (was) for (const k of "xy") ranges[k] = [Math.min(was[k][0], ranges[k][0]), Math.max(was[k][1], ranges[k][1])];
    staticDrawn = false;
    dirty = true;
  }

  function buildData() {
    if (!ds) return;
    const X = ds.X, y = ds.y.map(label);
    if (ds.task === "regression") {
      const xs = X.map((r) => r[0]);
      dataTraces = [{ type: "scatter", mode: "markers", x: xs, y, name: t("data.data"),
        marker: { color: "rgba(31,41,51,0.55)", size: X.length > 1000 ? 4 : 7, line: { width: 0 } },
        hovertemplate: "x %{x:.3f}<br>t %{y:.3f}<extra></extra>", showlegend: false }];
      ranges = { x: pad(xs), y: pad(y) };
    } else {
      const k = Math.max(2, ds.n_classes || 2);
      dataTraces = [];
      for (let c = 0; c < k; c++) {
        const xs = [], ys = [];
        X.forEach((r, n) => { if (Math.round(y[n]) === c) { xs.push(r[0]); ys.push(r[1]); } });
        dataTraces.push({ type: "scatter", mode: "markers", x: xs, y: ys, name: t("data.class", { k: c }),
          marker: { color: CLASS_COLORS[c % CLASS_COLORS.length], symbol: CLASS_SYMBOLS[c % CLASS_SYMBOLS.length],
            size: X.length > 1000 ? 5 : 8, line: { color: "#fff", width: 1 } },
          hovertemplate: `${t("data.class", { k: c })}<br>(%{x:.2f}, %{y:.2f})<extra></extra>`, showlegend: true });
      }
      ranges = square(pad(X.map((r) => r[0]), 0.1), pad(X.map((r) => r[1]), 0.1));
    }
  }

  function pad(v, share = 0.08) {
    const f = v.filter(isFiniteNum);
    if (!f.length) return [-1, 1];
    let lo = Math.min(...f), hi = Math.max(...f);
    const m = (hi - lo || 1) * share;
    return [lo - m, hi + m];
  }

  // both axes as long as the longer one (as the server's probability map: prediction_range), so
  // the plot, one scale for both axes, is a square and not a strip (moons)
  function square(x, y) {
    const half = Math.max(x[1] - x[0], y[1] - y[0]) / 2;
    const mid = (r) => (r[0] + r[1]) / 2;
    return { x: [mid(x) - half, mid(x) + half], y: [mid(y) - half, mid(y) + half] };
  }

  function setPrediction(p, run, runColorValue) {
    pred = p && p.x ? { ...p, x: raw(p.x, 0), y: p.kind === "grid" ? raw(p.y, 1) : p.y } : null;
    runName = run || "";
    color = runColorValue || INK;
    dirty = true;
  }

  function predTraces() {
    if (!pred || !ds) return [];
    if (pred.kind === "line") {
      return [{ type: "scatter", mode: "lines", x: pred.x, y: pred.y, name: tOr("run.", runName),
        line: { color, width: 4 }, hovertemplate: `${t("data.prediction")} ŷ %{y:.3f}<extra></extra>`, showlegend: false }];
    }
    if (pred.kind === "grid") {
      const k = pred.classes || ds.n_classes || 2;
      if (k <= 2) {
        const scale = [[0, "#c9d3f5"], [0.5, "#ffffff"], [1, "#f5c6cc"]];
        return [
          { type: "heatmap", x: pred.x, y: pred.y, z: pred.z, zmin: 0, zmax: 1, colorscale: scale, showscale: false,
            showlegend: false, zsmooth: "best", hovertemplate: `${t("data.p")} %{z:.2f}<extra></extra>` },
          { type: "contour", x: pred.x, y: pred.y, z: pred.z, showscale: false, showlegend: false, hoverinfo: "skip",
            contours: { coloring: "none", start: 0.5, end: 0.5, size: 1 }, line: { color, width: 3.5 } },
        ];
      }
      // multi-class: z is the predicted class (or its probability); tint by class
      const stops = [];
      for (let c = 0; c < k; c++) {
        const col = CLASS_COLORS[c % CLASS_COLORS.length];
        stops.push([c / k, col], [(c + 1) / k, col]);
      }
      // class c (0..k-1) maps to the middle of its band (c + 0.5) / k with zmin −0.5, zmax k − 0.5
      // `label` = the predicted class per grid cell, `z` = its probability
      const lab = Array.isArray(pred.label) ? pred.label : null;
      if (!lab) return [];
      return [{ type: "heatmap", x: pred.x, y: pred.y, z: lab, customdata: pred.z, showscale: false, showlegend: false, opacity: 0.28,
        zmin: -0.5, zmax: k - 0.5, colorscale: stops,
        hovertemplate: `${t("data.winner")} %{z} · p %{customdata:.2f}<extra></extra>` }];
    }
    return [];
  }

  function layout(bottom, legend) {
    const reg = ds && ds.task === "regression";
    return plotLayout({
      // room for the tick labels and, clear of them, the axis titles (standoff)
      margin: { l: 64, r: 10, t: 22, b: 46, autoexpand: false }, plot_bgcolor: bottom ? "#fff" : "rgba(0,0,0,0)", dragmode: false,
      showlegend: legend && !reg, legend: { orientation: "h", x: 0, y: 1.0, yanchor: "bottom", font: { size: plotFont(-2) }, bgcolor: "rgba(255,255,255,0.7)" },
      uirevision: ds ? ds.name : "none",
      xaxis: { title: { text: reg ? "x" : "x₁", standoff: 8 }, range: ranges ? ranges.x : undefined, gridcolor: GRID, zeroline: false,
        fixedrange: true, showgrid: bottom, visible: bottom, ...(reg ? {} : { constrain: "domain" }) },
      yaxis: { title: { text: reg ? "y" : "x₂", standoff: 8 }, range: ranges ? ranges.y : undefined, gridcolor: GRID, zeroline: false,
        fixedrange: true, showgrid: bottom, visible: bottom, ...(reg ? {} : { scaleanchor: "x", scaleratio: 1, constrain: "domain", constraintoward: "top" }) },
    });
  }

  const config = (layer) => plotConfig(layer === upper ? [lower, upper] : null, "descent-data");

  function flush() {
    if (!dirty || !ds || !window.Plotly) return false;
    dirty = false;
    const reg = ds.task === "regression";
    const [dataLayer, predLayer] = reg ? [lower, upper] : [upper, lower];
    if (!staticDrawn) {
      Plotly.react(dataLayer, dataTraces, layout(reg, true), config(dataLayer));
      staticDrawn = true;
    }
    Plotly.react(predLayer, predTraces(), layout(!reg, false), config(predLayer));
    return "drew";
  }

  function relabel() { if (ds) { buildData(); staticDrawn = false; dirty = true; } }

  return { reset, setDataset, setPrediction, flush, relabel, layers: { lower, upper } };
}
