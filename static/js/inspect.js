// The inspected run and the timeline: the step panel, the arrows on the surface and the model in
// the data view follow one run, at the live iteration or at the one the timeline is dragged to.
// The model drawn at a stored point is what the server sent: the line w·x + b comes with every
// point; other models show the latest detail's prediction at or before that iteration.

import { t, tOr } from "./i18n.js";
import { $, runColor, fmtInt, lastLE } from "./common.js";
import { state, ROOM, readOnly, runIndex } from "./state.js";

export function createInspect(ui) {
  /** What the stored points hold for run `name` at iteration k (the start before its first). */
  function pointAt(name, k) {
    const kept = state.points[name] || [];
    const j = lastLE(kept, k, (p) => p.iteration);
    return j >= 0 ? kept[j] : { iteration: 0, epoch: 0, loss: state.initialLoss, batch_loss: null, params: null, status: "running" };
  }

  /** Every view at iteration k (null: live). */
  function scrub(k) {
    state.cursor = k;
    ui.surface.setCursor(k);
    ui.loss.setCursor(k);
    ui.counters.setCursor(k === null ? null : state.runs.map((r) => pointAt(r.name, k)));
    show();
    ui.draw.request();
  }

  /** The step panel and the data view: the live detail, or what the stored points hold at k. */
  function show() {
    const name = state.inspected;
    if (!name) return;
    const d = state.details[name];
    if (state.cursor === null && d) { showDetail(d); return; }
    ui.surface.setDetail(null);
    if (state.cursor === null && !state.replay) { $("data-at").textContent = ""; ui.draw.request(); return; }
    const p = pointAt(name, state.cursor === null ? Infinity : state.cursor);
    ui.step.setPoint({ ...p, run: name });
    const line = state.model && state.model.line, h = state.predictions[name] || [];
    const j = lastLE(h, p.iteration, (e) => e[0]), i = runIndex(name);
    const model = line && p.line ? [p.iteration, { kind: "line", x: line.x, y: p.line }] : j >= 0 ? h[j] : null;
    if (model) ui.data.setPrediction(model[1], name, i >= 0 ? runColor(state.runs[i]) : undefined);
    $("data-at").textContent = model ? t("data.at", { i: fmtInt(model[0]) }) : "";
    if (state.replay) ui.replay.detail(name, p); // a file has no details: the server opens p up
    ui.draw.request();
  }

  function showDetail(d) {
    ui.step.set(d);
    ui.surface.setDetail(d);
    $("data-at").textContent = "";
    const i = runIndex(d.run);
    if (d.prediction) ui.data.setPrediction(d.prediction, d.run, i >= 0 ? runColor(state.runs[i]) : undefined);
    ui.draw.request();
  }

  /** The run picker after a start: the same run if it is still there, else the second one. */
  function fill() {
    const sel = $("inspect-run");
    sel.textContent = "";
    for (const r of state.runs) sel.add(new Option(tOr("run.", r.name), r.name));
    const kept = state.runs.some((r) => r.name === state.inspected);
    if (!kept) state.picked = false;
    inspect(kept ? state.inspected : (state.runs[1] || state.runs[0] || {}).name || null);
  }
  /** The user chose a run: it stays inspected when it ends. */
  function pick(name) { state.picked = true; inspect(name); }
  /** Unless the user chose one, a run that ended hands the panel to the first run still moving
   *  (else Step would move the others while the panel shows the last iteration of this one). */
  function follow() {
    if (state.picked || ROOM || state.replay || state.statuses[state.inspected] === "running") return;
    const next = state.runs.find((r) => state.statuses[r.name] === "running");
    if (next) inspect(next.name);
  }
  function inspect(name) {
    if (!name) return;
    state.inspected = name;
    $("inspect-run").value = name;
    ui.counters.setInspected(name);
    send();
    show();
    ui.draw.request();
  }
  /** Tell the server which run's details to send (and whether with the batch's surface). */
  function send() {
    if (readOnly() || (state.generation === null && !state.awaitingStart)) return;
    ui.socket.send({ type: "inspect", run: state.inspected, batch_surface: state.batchSurface && state.surfaceKind !== "projected" });
  }
  /** The run names in the picker, in the page's language. */
  function relabel() {
    for (const o of $("inspect-run").options) o.textContent = tOr("run.", o.value);
  }

  $("inspect-run").addEventListener("change", (ev) => pick(ev.target.value));
  return { scrub, show, showDetail, fill, inspect, pick, follow, send, relabel };
}

// The timeline: a scrubber over iterations 0…max. Dragging it back moves every view to iteration
// k (inspect.js tells the widgets); dragging it to the end or pressing Live returns to the live race.

export function createTimeline({ onScrub }) {
  const box = $("timeline"), range = $("tl-range"), out = $("tl-out"), live = $("tl-live"), note = $("tl-note");
  let max = 0;
  let cursor = null; // null = live
  let thinned = false;

  function render() {
    box.classList.toggle("off", max < 1);
    range.max = String(max);
    if (cursor === null) range.value = String(max);
    out.textContent = cursor === null ? t("tl.live_at", { i: fmtInt(max) }) : t("tl.at", { i: fmtInt(cursor), n: fmtInt(max) });
    live.disabled = cursor === null;
    box.classList.toggle("scrubbed", cursor !== null);
    note.textContent = thinned ? t("tl.thinned") : "";
  }

  function set(k) {
    if (k === cursor) return;
    cursor = k;
    render();
    onScrub(k);
  }
  range.addEventListener("input", () => { const k = Number(range.value); set(k >= max ? null : k); });
  live.addEventListener("click", () => set(null));

  function setMax(m) { if (m !== max) { max = m; render(); } }
  function setThinned(on) { thinned = on; render(); }
  function reset() { max = 0; cursor = null; thinned = false; render(); }

  render();
  return { set, setMax, setThinned, reset, relabel: render, get cursor() { return cursor; } };
}
