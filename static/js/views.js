// The page around the widgets: the status badge, emptying every view, the plane toggle, the
// surface's and the loss chart's view toggles, the language buttons and large text; and the
// learning-rate map, the surface panel's third view (createLrMap, below).

import { t, lang, setLang, onLangChange } from "./i18n.js";
import { $, fmt, plotLayout, plotConfig, announce } from "./common.js";
import { state, ROOM, readOnly, clearRuns, total, configKey } from "./state.js";

export function createViews(ui) {
  /** The status of the whole page: the body's data-status, the buttons and the badge. */
  function setStatus(s) {
    if (s !== state.status && ["running", "paused", "done"].includes(s) && !state.replay) announce(t(`announce.${s}`));
    state.status = s;
    document.body.dataset.status = s;
    ui.controls.setStatus(s);
    const label = $("run-state");
    const ready = state.generation !== null && !total() && (s === "idle" || s === "paused");
    label.textContent = state.replay ? t("replay.badge") : ready ? t("status.idle")
      : s === "idle" ? "" : t(`status.${s === "done" ? "completed" : s}`);
    label.dataset.status = state.replay ? "replay" : s;
  }

  /** Forget the race and empty every view. */
  function clear() {
    Object.assign(state, { generation: null, awaitingStart: false, paused: false });
    clearRuns();
    ui.surface.reset(); ui.loss.reset(); ui.data.reset(); ui.counters.reset(); ui.step.reset(); ui.timeline.reset();
    ui.controls.setLrLimit(null);
    $("inspect-run").textContent = "";
    $("data-at").textContent = "";
    showPca();
    if (ROOM) setStatus("idle");
  }

  /** The plane toggle of a projected surface (the teacher's choice; the server sends the surface). */
  function showPca() {
    $("plane").hidden = !!readOnly() || state.surfaceKind !== "projected" || total() < 2;
    for (const m of ["pca", "random"]) $(`plane-${m}`).setAttribute("aria-pressed", String((state.plane || "pca") === m));
  }
  for (const m of ["pca", "random"]) $(`plane-${m}`).addEventListener("click", () => ui.socket.send({ type: "reproject", method: m }));

  // ---- view toggles
  function setView(v) {
    ui.map.show(false);
    $("view-contour").setAttribute("aria-pressed", String(v === "contour"));
    $("view-3d").setAttribute("aria-pressed", String(v === "3d"));
    ui.surface.setView(v);
    ui.draw.hold();
  }
  $("view-contour").addEventListener("click", () => setView("contour"));
  $("view-3d").addEventListener("click", () => setView("3d"));
  $("batch-surface").addEventListener("change", (ev) => {
    state.batchSurface = ev.target.checked;
    ui.surface.setBatchVisible(state.batchSurface);
    ui.inspect.send();
    ui.draw.request();
  });
  for (const b of document.querySelectorAll("[data-xmode]")) {
    b.addEventListener("click", () => {
      for (const o of document.querySelectorAll("[data-xmode]")) o.setAttribute("aria-pressed", String(o === b));
      ui.loss.setXMode(b.dataset.xmode);
      ui.draw.hold();
    });
  }
  $("loss-log").addEventListener("change", (ev) => { ui.loss.setLog(ev.target.checked); ui.draw.hold(); });

  // ---- language and large text
  for (const b of document.querySelectorAll("[data-lang]")) b.addEventListener("click", () => setLang(b.dataset.lang));
  function showLang() {
    for (const b of document.querySelectorAll("[data-lang]")) b.setAttribute("aria-pressed", String(b.dataset.lang === lang()));
  }
  /** Every label again, in the language just chosen. */
  function relabel() {
    showLang();
    setStatus(state.status);
    ui.inspect.relabel();
    ui.surface.relabel(); ui.loss.relabel(); ui.data.relabel(); ui.counters.relabel(); ui.step.relabel(); ui.timeline.relabel();
    ui.viewer.show();
    ui.notice.relabel();
    if (state.cursor !== null) ui.inspect.show();
    ui.draw.request();
  }

  function setLarge(on) {
    document.body.classList.toggle("large", on);
    document.documentElement.classList.toggle("large", on);
    $("btn-large").setAttribute("aria-pressed", String(on));
    try { localStorage.setItem("dp.large", on ? "1" : "0"); } catch (_) { /* ignore */ }
    ui.surface.relabel(); ui.loss.relabel(); ui.data.relabel();
    ui.draw.request();
    window.dispatchEvent(new Event("resize"));
  }
  $("btn-large").addEventListener("click", () => setLarge(!document.body.classList.contains("large")));
  /** Large text as the teacher left it on this machine. */
  function restoreLarge() {
    try {
      if (localStorage.getItem("dp.large") === "1") { document.body.classList.add("large"); document.documentElement.classList.add("large"); }
    } catch (_) { /* ignore */ }
    $("btn-large").setAttribute("aria-pressed", String(document.body.classList.contains("large")));
  }

  return { setStatus, clear, showPca, showLang, relabel, restoreLarge };
}

// ---- the learning-rate map, the surface panel's third view: the form's config trained with 12
// learning rates × 4 batch sizes from one start (the socket's `sweep`, docs/protocol.md), the
// final loss as colour (log), ✕ where a run diverged, the dashed 2/λ_max line where theory knows
// the edge. Shown, it follows the form (a start drops a map in progress, so it asks again).
// A click on a cell races its learning rate, every run at it, with its batch size in the run
// that fits (followed by the step panel): the map's column comes alive beside its neighbours.
// (Here, not in a module of its own: it shares this file's gzip dictionary, 200 bytes less.)

const log = Math.log10;
const LRS = [...Array(12)].map((_, k) => +(10 ** ((4 * k) / 11 - 3)).toPrecision(2)); // 0.001 … 10
const BATCHES = [1, 8, 32, null];
const K = [...Array(15)].map((_, k) => k - 7); // decades: both axes are drawn at log10
const TICKS = { tickvals: K, ticktext: K.map((k) => fmt(10 ** k, 1)), zeroline: false };

export function createLrMap(ui) {
  const btn = $("view-map"), plot = $("map-plot"), bar = $("map-bar"), said = $("map-cell"), hint = $("map-hint");
  if (ROOM) hint.dataset.i18n = "map.hint_view"; // a viewer only reads the map
  let id = 0, busy = false, key = null, map = null, at = null; // at: the cursor's cell [lr i, batch j]
  const on = () => btn.ariaPressed === "true";
  const idle = () => (busy = !(bar.hidden = true));

  /** Ask for the map of the form's config (unless it is on screen, or coming). */
  function compute() {
    const c = ui.controls.getConfig();
    if (c && !readOnly() && (busy || key !== configKey(c))) {
      busy = true; key = configKey(c); // its first sweep_progress sets the bar to 0
      ui.socket.send({ type: "sweep", id: ++id, config: c, lrs: LRS, batch_sizes: BATCHES });
    }
    bar.hidden = !busy;
  }

  function show(yes) {
    btn.closest("section").classList.toggle("show-map", yes);
    btn.ariaPressed = yes;
    for (const v of ["contour", "3d"]) $(`view-${v}`).ariaPressed = !yes && ui.surface.view === v; // the surface's own view
    if (yes) { compute(); draw(); }
  }
  btn.addEventListener("click", () => show(true));

  const send = ui.socket.send; // a start drops the map being computed (the server's rule)
  ui.socket.send = (m) => {
    send(m);
    if (m.type === "start") { if (busy) key = busy = null; on() ? compute() : idle(); }
  };

  /** A map to show (null: none); `k` the config it belongs to. */
  function set(m, k) {
    map = m && { lrs: m.lrs, batch_sizes: m.batch_sizes, cells: m.cells, lr_limit: m.lr_limit };
    key = k; at = null; said.textContent = "";
    if (!map && window.Plotly) { Plotly.purge(plot); plot.on_ = null; } // purge drops the click listener too
    idle(); draw();
  }

  /** The cursor's cell in words: "learning rate 0.1, batch 8: final loss 0.031" (or diverged;
   *  "…, Full batch: …"). */
  function words(i, j) {
    const c = map.cells[i][j], n = map.batch_sizes[j];
    return t(c.status === "diverged" ? "map.cell_x" : "map.cell", { lr: map.lrs[i], b: n ? t("map.batch", { n }) : t("run.Full batch"), v: fmt(c.loss) });
  }

  function draw() {
    if (!map || !window.Plotly || !on()) return;
    const rows = map.batch_sizes.map((b) => b || t("run.Full batch")), z = [], mark = [], hover = [], x = map.lrs.map(log);
    const lim = map.lr_limit && log(map.lr_limit);
    rows.forEach((b, j) => {
      z[j] = map.cells.map((r) => (r[j].loss > 0 ? log(r[j].loss) : null));
      mark[j] = map.cells.map((r) => (r[j].status === "diverged" ? "✕" : "")); // not by colour only
      hover[j] = map.cells.map((r, i) => `${map.lrs[i]} × ${b}: ${fmt(r[j].loss)} (${t(`status.${r[j].status}`)})`);
    });
    const shapes = lim ? [{ type: "line", x0: lim, x1: lim, yref: "paper", y1: 1, line: { color: "red", dash: "dash" },
      label: { text: "2/λ<sub>max</sub>", textangle: 0, textposition: "end" } }] : [];
    if (at) { // the cursor: a white frame in a black one, seen on every colour
      const [i, j] = at, n = x.length; // a cell's edges: half way to its neighbours, as the heatmap's
      const e = (k) => (n < 2 ? x[0] + k - 0.5 : k <= 0 ? 1.5 * x[0] - 0.5 * x[1] : k >= n ? 1.5 * x[n - 1] - 0.5 * x[n - 2] : (x[k - 1] + x[k]) / 2);
      const box = { type: "rect", x0: e(i), x1: e(i + 1), y0: j - 0.5, y1: j + 0.5 };
      shapes.push({ ...box, line: { color: "#fff", width: 6 } }, { ...box, line: { color: "#000", width: 2.5 } });
    }
    Plotly.react(plot, [
      { type: "heatmap", x, y: rows, z, text: mark, texttemplate: "%{text}", textfont: { size: 18 },
        hovertext: hover, hoverinfo: "text", colorscale: "Viridis", colorbar: { title: { text: t("surface.loss") }, thickness: 12, ...TICKS } },
    ], plotLayout({
      margin: { r: 8, t: 24, b: 44 },
      xaxis: { title: { text: t("ctl.lr") }, ...TICKS },
      yaxis: { title: { text: t("runs.kind") }, type: "category" },
      shapes,
    }), plotConfig([plot], "lr-map")).then(() => plot.on_ ||= plot.on("plotly_click", (e) => { const [j, i] = e.points[0].pointNumber; move(i, j); race(); }));
  }

  /** The cursor to cell (i, j): outlined, and said in words (a polite live region). */
  function move(i, j) {
    at = [Math.max(0, Math.min(i, map.lrs.length - 1)), Math.max(0, Math.min(j, map.batch_sizes.length - 1))];
    said.textContent = words(...at);
    draw();
  }

  // One tab stop: arrows move the cursor (→ a larger learning rate, ↑ the next batch size up the
  // axis), Enter or Space races its cell as a click does; the page's own keys stay out of it.
  plot.addEventListener("keydown", (ev) => {
    const d = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowDown: [0, -1], ArrowUp: [0, 1] }[ev.key];
    if (!map || !(d || ev.key === "Enter" || ev.key === " ")) return;
    ev.preventDefault(); ev.stopPropagation();
    if (!at) move(0, 0);
    else if (d) move(at[0] + d[0], at[1] + d[1]);
    else race();
  });
  plot.addEventListener("focus", () => { if (map && !at) move(0, 0); });

  /** The cursor's cell raced: every run at its learning rate, its batch size in the run that
   *  fits (a viewer or a saved run only marks it: nothing to start). */
  function race() {
    const c = ui.controls.getConfig(), runs = c && c.runs, [i, j] = at, b = map.batch_sizes[j];
    if (!c || readOnly()) return;
    const r = runs.find((q) => q.batch_size === b) || runs.find((q) => q.batch_size > 1) || runs[0];
    Object.assign(r, { batch_size: b, update: runs[0].update }); // the map's update rule
    for (const q of runs) q.lr = null;
    ui.controls.setConfig({ ...c, lr: map.lrs[i] });
    Object.assign(state, { inspected: r.name, picked: true });
    show(false); // no redraw of the surface: it would race the reset
    ui.actions.reset(); // a new race of this setting, then on at once
    ui.actions.start();
  }

  onLangChange(() => { if (at) said.textContent = words(...at); draw(); });
  const started = ui.dispatch.gated.started; // a viewer: a race of another config makes the map stale
  Object.assign(ui.dispatch.gated, { // the map's own messages, never gated by a race's generation
    started(m) { started(m); if (ROOM && map && key !== configKey(m.config || {})) set(null, null); },
    // a viewer follows the presenter's map, whatever its id
    sweep_progress(m) { if ((m.id === id && busy) || ROOM) { bar.hidden = false; bar.value = m.done / m.total; } },
    sweep_result(m) { if (m.id === id || ROOM) set(m, ROOM ? configKey(state.config || {}) : key); },
  });
  return {
    show,
    /** Whether an error is a map's (a refused map stops its bar; the notice says why). */
    error(m) { if (m.sweep === id) idle(); return "sweep" in m; },
    /** The map of the race on screen, for its export (a saved run's: the file's). */
    get current() { return map && (state.replay || key === state.sent) ? map : null; },
    /** A saved run's map (or none): shown as it was. */
    load(m) {
      set(m || null, null);
      btn.hidden = state.replay && !m;
      if (!m) show(false);
      hint.dataset.i18n = readOnly() ? "map.hint_view" : "map.hint";
      hint.textContent = t(hint.dataset.i18n);
    },
  };
}
