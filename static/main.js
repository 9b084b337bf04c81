// Descent Playground: wires the socket's messages (one dispatch table) to the widgets that own
// them, and batches every DOM / plot update into one requestAnimationFrame. The same page serves
// the teacher (/ws/train), a viewer of a room (/room/CODE, read-only) and the replay of a file.

import { t, tOr, lang, setLang, applyI18n, onLangChange } from "./js/i18n.js";
import { $, runColor, fmtInt, lastLE } from "./js/common.js";
import { createSocket } from "./js/socket.js";
import { createControls } from "./js/controls.js";
import { createSurface } from "./js/surface.js";
import { createLossChart } from "./js/losschart.js";
import { createDataView } from "./js/dataview.js";
import { createCounters } from "./js/counters.js";
import { createStepPanel } from "./js/steppanel.js";
import { createTimeline } from "./js/timeline.js";
import { createClassroom } from "./js/classroom.js";
import { createFiles } from "./js/files.js";

const readJson = (id) => { try { return JSON.parse($(id).textContent); } catch (_) { return null; } };
const initialConfig = readJson("initial-config"); // the link's config
const page = readJson("page-options") || {};      // {notices, autoplay, room}
const ROOM = page.room || null;                   // a viewer's room
const RUN_MESSAGES = new Set(["started", "surface", "frame", "detail", "state", "done"]);
const readOnly = () => ROOM || state.replay; // a viewer, or a saved run: nothing to send
const MAX_PREDICTIONS = 400; // per run: models kept for the timeline
const REPLAY_CHUNK = 250;    // points per run per replayed frame
const KEEP_NUMBERS = 4e6;    // the timeline's memory; beyond it the older half of each run is thinned

// ---- state (read by the tests through window.__dp)
const state = {
  generation: null,     // the generation on screen; messages of others are ignored
  awaitingStart: false, // a start was sent; ignore everything until its `started`
  status: "idle",       // idle | running | paused | done
  paused: false,
  asked: false,         // the pause state asked for last (older `state` replies are stale)
  primed: null,         // the config key of a paused start
  runs: [], counts: {}, statuses: {}, iterations: {}, details: {},
  points: {},           // per run every point received: the timeline's memory
  predictions: {},      // per run [[iteration, prediction]] from its details
  cursor: null,         // the timeline's iteration (null = live)
  inspected: null, batchSurface: false, config: null, model: null, dataset: null, initialLoss: null,
  surfaceKind: null, lrLimit: null,
  viewer: ROOM, room: null, ended: false, // a viewer: its room, ended by the presenter
  replay: false,        // a saved run is on screen
  thinned: false,       // some history arrived thinned (a late joiner of a long run)
  received: { started: 0, surface: 0, frame: 0, detail: 0, done: 0, state: 0, error: 0, stale: 0 },
  lastError: null,
};
/** Forget the runs on screen. */
function clearRuns(runs = []) {
  Object.assign(state, { runs, counts: {}, statuses: {}, iterations: {}, details: {}, points: {}, predictions: {},
    cursor: null, surfaceKind: null, lrLimit: null, thinned: false });
  for (const r of runs) {
    state.counts[r.name] = 0; state.statuses[r.name] = "running"; state.iterations[r.name] = 0; state.points[r.name] = [];
  }
}

// ---- widgets
const surface = createSurface($("surface-plot"), { emptyEl: $("surface-empty"), captionEl: $("surface-caption") });
const loss = createLossChart($("loss-plot"));
const data = createDataView($("data-plot"));
const counters = createCounters($("counters"), { onPick: (name) => { if (!ROOM) inspect(name); } });
const step = createStepPanel($("step-body"), $("step-sub"));
const timeline = createTimeline({ onScrub: scrub });

// Plotly's `responsive` follows the window only: a panel that changes size resizes its plots too.
const resized = new ResizeObserver((entries) => {
  for (const e of entries) for (const d of e.target.querySelectorAll(".js-plotly-plot")) window.Plotly.Plots.resize(d).catch(() => {});
});
for (const w of document.querySelectorAll(".plot-wrap")) resized.observe(w);

const perf = {}; // milliseconds spent drawing, per widget
window.__dp = { state, t, perf, plots: { surface: surface.layers.fg, surfaceBackground: surface.layers.bg, loss: $("loss-plot"),
  data: data.layers.lower, dataTop: data.layers.upper } };

// ---- one animation frame for every update
let frameRequested = false;
function requestDraw() {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(draw);
}
function draw(now) {
  frameRequested = false;
  if (!window.Plotly) { requestDraw(); return; }
  let more = false;
  const names = ["surface", "loss", "data", "counters", "step"];
  [surface, loss, data, counters, step].forEach((w, k) => {
    const t0 = performance.now();
    try { more = w.flush(now) || more; } catch (err) { console.error(err); }
    const dt = performance.now() - t0;
    perf[names[k]] = (perf[names[k]] || 0) + dt;
  });
  if (more) requestDraw();
}

// ---- status of the whole page
const total = () => Object.values(state.counts).reduce((a, b) => a + b, 0);
function setStatus(s) {
  state.status = s;
  document.body.dataset.status = s;
  controls.setStatus(s);
  const label = $("run-state");
  const ready = state.generation !== null && !total() && (s === "idle" || s === "paused");
  label.textContent = state.replay ? t("replay.badge") : ready ? t("status.idle")
    : s === "idle" ? "" : t(`status.${s === "done" ? "completed" : s}`);
  label.dataset.status = state.replay ? "replay" : s;
}

// ---- notices: errors, the connection, and what a link asked for that was ignored
let noticeText = null;
function showNotice(text, kind = "error") {
  noticeText = typeof text === "function" ? text : () => text;
  $("notice-text").textContent = noticeText();
  $("notice").dataset.kind = kind;
  $("notice").hidden = false;
}
function hideNotice(kind) { if (!kind || $("notice").dataset.kind === kind) $("notice").hidden = true; }
$("notice-close").addEventListener("click", () => hideNotice());

function errorText(msg) {
  // English: the server's own sentence is the most precise; other languages: translate by code.
  if (lang() === "en" && msg.message) return msg.message;
  const key = `err.${msg.code}`;
  const limit = typeof msg.limit === "number" ? msg.limit.toLocaleString(lang()) : "";
  const tr = t(key, { field: msg.field || "", limit });
  return tr !== key ? tr : msg.message || msg.code || "error";
}

// ---- the dispatch table
const current = (msg) => {
  if (state.awaitingStart || state.generation === null || msg.generation !== state.generation) {
    state.received.stale += 1;
    return false;
  }
  return true;
};
const runIndex = (name) => state.runs.findIndex((r) => r.name === name);

const handlers = {
  started(msg) {
    state.received.started += 1;
    state.awaitingStart = false;
    state.generation = msg.generation;
    clearRuns(msg.runs || []);
    state.config = msg.config || null;
    state.model = msg.model || null;
    state.dataset = msg.dataset || null;
    state.initialLoss = msg.initial_loss ?? null;
    // the server's defaults filled in, unless the user changed a control since this start
    if (!ROOM && state.config && configKey(controls.getConfig()) === state.sent) controls.setConfig({ ...state.config, speed: undefined });
    counters.setRuns(state.runs, state.config || {}); // first: its height sets the plots' rows
    surface.reset(); surface.setRuns(state.runs);
    loss.setRuns(state.runs, msg.initial_loss);
    data.reset(); if (state.dataset) data.setDataset(state.dataset);
    step.setModel(state.model, state.config && state.config.loss);
    timeline.reset();
    fillInspect();
    setStatus(ROOM ? "idle" : state.status); // a viewer: "ready" until frames or a `state`
    if (!readOnly() && state.config) classroom.syncUrl({ ...state.config, speed: controls.speedValue() });
    showPca();
    requestDraw();
  },
  surface(msg) {
    state.received.surface += 1;
    if (!current(msg)) return;
    state.surfaceKind = msg.kind;
    state.lrLimit = msg.lr_limit ?? null;
    controls.setLrLimit(state.lrLimit);
    if (!state.asked) settle(); // an unpaused start's race exists from here on
    if (msg.paths) moveToPlane(msg.paths);
    surface.setSurface(msg, state.model && state.model.n_params);
    showPca();
    requestDraw();
  },
  frame(msg) {
    state.received.frame += 1;
    if (!current(msg)) return;
    const first = !total();
    if (msg.thinned && !state.thinned) { state.thinned = true; timeline.setThinned(true); }
    for (const [name, points] of Object.entries(msg.runs || {})) {
      const i = runIndex(name);
      if (i < 0 || !Array.isArray(points) || !points.length) continue;
      state.counts[name] += points.length;
      const kept = state.points[name];
      for (const p of points) kept.push(p);
      const last = points[points.length - 1];
      state.iterations[name] = last.iteration;
      surface.push(i, points);
      loss.push(i, points);
      counters.update(i, last);
      if (last.status && last.status !== state.statuses[name]) runStatus(i, last.status, last.iteration);
    }
    timeline.setMax(Math.max(0, ...Object.values(state.iterations)));
    const size = 8 + ((state.model && state.model.n_params) || 2);
    if (Object.values(state.points).reduce((n, p) => n + p.length, 0) * size > KEEP_NUMBERS) thinPoints();
    if (first) { setStatus(ROOM && state.status === "idle" ? "running" : state.status); showPca(); }
    requestDraw();
  },
  detail(msg) {
    state.received.detail += 1;
    if (!current(msg)) return;
    state.details[msg.run] = msg;
    if (msg.residual_summary) surface.setResidual(msg.residual_summary);
    if (msg.prediction) {
      let h = state.predictions[msg.run] || (state.predictions[msg.run] = []);
      h.push([msg.iteration, msg.prediction]);
      if (h.length > MAX_PREDICTIONS) state.predictions[msg.run] = h = h.filter((_, k) => (h.length - 1 - k) % 2 === 0);
    }
    if (ROOM && msg.run !== state.inspected) inspect(msg.run); // a viewer follows the presenter's run
    else if (msg.run === state.inspected && state.cursor === null) showDetail(msg);
  },
  done(msg) {
    state.received.done += 1;
    if (!current(msg)) return;
    for (const [name, info] of Object.entries(msg.runs || {})) {
      const i = runIndex(name);
      if (i < 0) continue;
      counters.finish(i, info);
      if (info.status !== state.statuses[name]) runStatus(i, info.status, info.iterations);
    }
    if (msg.residual) surface.setResidual(msg.residual);
    state.paused = false;
    setStatus("done");
    if (state.replay) showInspected();
    requestDraw();
  },
  state(msg) {
    state.received.state += 1;
    if (msg.generation === state.generation) settle(); // a paused start's race exists from here on
    if (!ROOM && !!msg.paused !== state.asked) return; // the reply to an older request
    state.paused = !!msg.paused;
    const going = state.status === "running" || state.status === "paused";
    if (going || (ROOM && state.generation !== null && state.status !== "done")) setStatus(state.paused ? "paused" : "running");
  },
  error(msg) {
    state.received.error += 1;
    state.lastError = msg;
    if (msg.field === "room" || msg.code === "not_presenting") classroom.ended(); // the room is gone
    if (msg.code === "read_only") return; // a viewer never sends
    showNotice(errorText(msg));
    if (state.awaitingStart && (!msg.field || String(msg.field).startsWith("config"))) {
      state.awaitingStart = false;
      state.primed = null;
      setStatus(state.generation === null ? "idle" : state.status);
    }
  },
  presenting(msg) { classroom.presenting(msg); },
  presentation_ended() { classroom.ended(); },
  room_lost(msg) { classroom.roomLost(msg); },
  // a viewer's messages
  room(msg) { state.room = msg; hideNotice("conn"); showWatching(); },
  reset() { clearViews(); },
  room_closed() { state.ended = true; socket.close(); showWatching(); setStatus("idle"); },
};

function runStatus(i, status, iteration) {
  const name = state.runs[i].name;
  state.statuses[name] = status;
  counters.setStatus(i, status, iteration);
  surface.setStatus(i, status, iteration);
  loss.setStatus(i, status);
  if (status === "diverged" && !loss.logY) {
    // a diverging loss dwarfs the others on a linear axis: switch to log so every curve stays visible
    $("loss-log").checked = true;
    loss.setLog(true);
  }
}

function showDetail(d) {
  step.set(d);
  surface.setDetail(d);
  $("data-at").textContent = "";
  const i = runIndex(d.run);
  if (d.prediction) data.setPrediction(d.prediction, d.run, i >= 0 ? runColor(state.runs[i]) : undefined);
  requestDraw();
}

/** A re-projection moves every point to the new plane; `xy` ends at the latest point (one per
 *  iteration, unless the server thinned its history: then only its complete recent half). */
function moveToPlane(paths) {
  state.runs.forEach((r, i) => {
    const e = paths[r.name], kept = state.points[r.name];
    if (!e || !kept) return;
    const off = e.xy.length - state.iterations[r.name];
    if (off) { state.thinned = true; timeline.setThinned(true); }
    for (const p of kept) {
      const k = p.iteration - 1 + off;
      p.xy = !off || k >= e.xy.length / 2 ? e.xy[k] || null : null;
      if (e.residual) p.residual = e.residual[k];
    }
    surface.load(i, kept);
  });
  // the arrows of the latest details were on the old plane: hidden until the next detail
  for (const d of Object.values(state.details)) { delete d.at_xy; delete d.grad_xy; delete d.full_grad_xy; }
}

function thinPoints() {
  for (const [name, kept] of Object.entries(state.points)) {
    const half = kept.length >> 1;
    state.points[name] = kept.filter((_, k) => k >= half || k % 2 === 0);
  }
  state.thinned = true;
  timeline.setThinned(true);
}

// ---- the timeline: every view at iteration k
function pointAt(name, k) {
  const kept = state.points[name] || [];
  const j = lastLE(kept, k, (p) => p.iteration);
  return j >= 0 ? kept[j] : { iteration: 0, epoch: 0, loss: state.initialLoss, batch_loss: null, params: null, status: "running" };
}
function scrub(k) {
  state.cursor = k;
  surface.setCursor(k);
  loss.setCursor(k);
  counters.setCursor(k === null ? null : state.runs.map((r) => pointAt(r.name, k)));
  showInspected();
  requestDraw();
}
/** The step panel and the data view: the live detail, or what the stored points hold at k. */
function showInspected() {
  const name = state.inspected;
  if (!name) return;
  const d = state.details[name];
  if (state.cursor === null && d) { showDetail(d); return; }
  surface.setDetail(null);
  if (state.cursor === null && !state.replay) { $("data-at").textContent = ""; requestDraw(); return; }
  const p = pointAt(name, state.cursor === null ? Infinity : state.cursor);
  step.setPoint({ ...p, run: name });
  // the line w·x + b of every point comes with it; other models: the latest detail's prediction
  const line = state.model && state.model.line, h = state.predictions[name] || [];
  const j = lastLE(h, p.iteration, (e) => e[0]), i = runIndex(name);
  const model = line && p.line ? [p.iteration, { kind: "line", x: line.x, y: p.line }] : j >= 0 ? h[j] : null;
  if (model) data.setPrediction(model[1], name, i >= 0 ? runColor(state.runs[i]) : undefined);
  $("data-at").textContent = model ? t("data.at", { i: fmtInt(model[0]) }) : "";
  requestDraw();
}

// ---- the socket: /ws/train, or a viewer's /ws/room/CODE
const gated = {}; // during a replay the live socket's run messages are dropped
for (const [type, fn] of Object.entries(handlers)) gated[type] = (msg) => { if (!(state.replay && RUN_MESSAGES.has(type))) fn(msg); };

function viewerRetry(ev, ms) {
  if (state.ended) return null;
  if (ev.code === 4404 || ev.code === 4429) { // no such room, or it is full: say why, ask again slowly
    const s = ev.code === 4404 ? 5 : 10;
    showNotice(() => t("room.retry", { reason: ev.reason || `${ROOM}: ${ev.code}`, s }), "conn");
    return s * 1000;
  }
  showNotice(() => t("err.connection"), "conn"); // 1001 (a restart) or any other drop
  return ms;
}

const socket = createSocket({
  path: ROOM ? `/ws/room/${encodeURIComponent(ROOM)}` : "/ws/train",
  handlers: gated,
  retry: ROOM ? viewerRetry : undefined,
  onLost() {
    if (readOnly()) return;
    if (state.generation !== null || state.awaitingStart) showNotice(() => t("err.connection"), "conn");
    Object.assign(state, { generation: null, awaitingStart: false, paused: false, primed: null });
    settled = false;
    if (state.status !== "idle") setStatus("done");
  },
  onOpen(n) {
    if (ROOM) return;
    hideNotice("conn");
    if (n > 1) { classroom.represent(); if (state.status === "idle") prime(); }
  },
});

// ---- inspected run
function fillInspect() {
  const sel = $("inspect-run");
  sel.textContent = "";
  for (const r of state.runs) sel.add(new Option(tOr("run.", r.name), r.name));
  const keep = state.runs.some((r) => r.name === state.inspected) ? state.inspected
    : (state.runs[1] || state.runs[0] || {}).name || null;
  inspect(keep);
}
function inspect(name) {
  if (!name) return;
  state.inspected = name;
  $("inspect-run").value = name;
  counters.setInspected(name);
  sendInspect();
  showInspected();
  requestDraw();
}
function sendInspect() {
  if (readOnly() || (state.generation === null && !state.awaitingStart)) return;
  socket.send({ type: "inspect", run: state.inspected, batch_surface: state.batchSurface && state.surfaceKind !== "projected" });
}
$("inspect-run").addEventListener("change", (ev) => inspect(ev.target.value));

// ---- actions. A paused start shows the surface, the data and the start point before Start,
// which then only resumes it.
const configKey = (c) => JSON.stringify({ ...c, speed: 0 }); // speed changes go as `speed` messages
// A start is built in the background: pause, resume, step and stop wait for it.
let settled = false, waiting = [];
function command(msg) { if (settled) socket.send(msg); else waiting.push(msg); }
function settle() { settled = true; for (const m of waiting.splice(0)) socket.send(m); }
function sendStart(config, paused) {
  settled = false;
  waiting = [];
  hideNotice("error");
  Object.assign(state, { awaitingStart: true, generation: null, paused, asked: paused, primed: paused ? configKey(config) : null, sent: configKey(config) });
  socket.send({ type: "start", config, paused });
  // inspect at once: a fast race may end before `started`
  if (!config.runs.some((r) => r.name === state.inspected)) state.inspected = (config.runs[1] || config.runs[0]).name;
  sendInspect();
}
function prime() {
  if (readOnly()) return;
  const config = controls.getConfig();
  if (config) sendStart(config, true);
}
function start() {
  if (readOnly()) return false;
  if (state.status === "paused" && state.generation !== null) { resume(); return true; }
  const config = controls.getConfig();
  if (!config) return false;
  if (state.status === "idle" && state.primed === configKey(config)) { resume(); return true; }
  sendStart(config, false);
  setStatus("running");
  return true;
}
function resume() {
  state.paused = state.asked = false;
  command({ type: "resume" });
  setStatus("running");
}
function pause() {
  if (state.status !== "running" || readOnly()) return;
  state.paused = state.asked = true;
  command({ type: "pause" });
  setStatus("paused");
}
function stepOnce() {
  if (readOnly()) return;
  if (state.status === "running") pause();
  else if (state.status !== "paused") {
    const config = controls.getConfig();
    if (!config) return;
    if (!(state.status === "idle" && state.primed === configKey(config))) sendStart(config, true);
    setStatus("paused");
  }
  command({ type: "step" });
}
function clearViews() {
  Object.assign(state, { generation: null, awaitingStart: false, paused: false });
  clearRuns();
  surface.reset(); loss.reset(); data.reset(); counters.reset(); step.reset(); timeline.reset();
  controls.setLrLimit(null);
  $("inspect-run").textContent = "";
  $("data-at").textContent = "";
  showPca();
  if (ROOM) setStatus("idle");
}
let replayToken = 0;
function reset() {
  if (ROOM) return;
  if (state.replay) {
    state.replay = false;
    replayToken += 1;
    document.body.classList.remove("replay");
    controls.setLocked(false);
  }
  clearViews();
  setStatus("idle");
  prime();
}
function configChanged() {
  if (readOnly()) return;
  const config = controls.getConfig();
  if (!config) return;
  if (state.status === "running" || state.status === "paused") sendStart(config, state.status === "paused");
  else if (state.status === "done" || state.primed !== configKey(config)) { sendStart(config, true); setStatus("idle"); }
}
function speedChanged(v) {
  if (state.generation !== null || state.awaitingStart) socket.send({ type: "speed", value: v });
  if (!readOnly() && state.config) classroom.syncUrl({ ...state.config, speed: v });
}

/** Replay a saved run through the same dispatch table. */
async function replay(file) {
  if (state.status === "running" || state.status === "paused") command({ type: "stop" });
  const mine = ++replayToken;
  clearViews();
  state.replay = true;
  document.body.classList.add("replay");
  controls.setConfig(file.config);
  controls.setLocked(true);
  setStatus("running");
  const gen = file.started.generation;
  handlers.started(file.started);
  handlers.surface(file.surface);
  const names = Object.keys(file.runs);
  for (let k = 0; ; k += REPLAY_CHUNK) {
    const runs = {};
    for (const n of names) { const part = file.runs[n].slice(k, k + REPLAY_CHUNK); if (part.length) runs[n] = part; }
    if (!Object.keys(runs).length) break;
    handlers.frame({ type: "frame", generation: gen, runs });
    await new Promise((r) => setTimeout(r, 16));
    if (mine !== replayToken) return;
  }
  handlers.done(file.done);
}

function showPca() {
  $("btn-pca").hidden = !!readOnly() || state.surfaceKind !== "projected" || total() < 2;
}
$("btn-pca").addEventListener("click", () => socket.send({ type: "reproject", method: "pca" }));

const controls = createControls({
  onStart: start, onPause: pause, onStep: stepOnce, onReset: reset,
  onConfigChange: configChanged, onSpeed: speedChanged, onError: showNotice,
});
const classroom = createClassroom({
  send: (m) => socket.send(m),
  getConfig: () => { const c = controls.getConfig() || state.config; return c && { ...c, speed: controls.speedValue() }; },
  notify: showNotice,
  dismiss: hideNotice,
});
createFiles({
  getRequest: () => {
    if (!state.config) { showNotice(t("err.no_run")); return null; }
    const iterations = {};
    for (const [name, it] of Object.entries(state.iterations)) iterations[name] = state.cursor === null ? it : Math.min(it, state.cursor);
    return { config: state.config, iterations };
  },
  onLoad: replay,
  notify: showNotice,
});

// ---- a viewer: "Watching CODE live" instead of the controls
function showWatching() {
  if (!ROOM) return;
  const w = $("watching");
  w.hidden = false;
  w.classList.toggle("ended", state.ended);
  w.textContent = state.ended ? t("present.ended") : t("room.watching", { code: ROOM });
}

// ---- view toggles
function setView(v) {
  $("view-contour").setAttribute("aria-pressed", String(v === "contour"));
  $("view-3d").setAttribute("aria-pressed", String(v === "3d"));
  surface.setView(v);
}
$("view-contour").addEventListener("click", () => setView("contour"));
$("view-3d").addEventListener("click", () => setView("3d"));
$("batch-surface").addEventListener("change", (ev) => {
  state.batchSurface = ev.target.checked;
  surface.setBatchVisible(state.batchSurface);
  sendInspect();
  requestDraw();
});
for (const b of document.querySelectorAll("[data-xmode]")) {
  b.addEventListener("click", () => {
    for (const o of document.querySelectorAll("[data-xmode]")) o.setAttribute("aria-pressed", String(o === b));
    loss.setXMode(b.dataset.xmode);
  });
}
$("loss-log").addEventListener("change", (ev) => loss.setLog(ev.target.checked));

// ---- language and large text
for (const b of document.querySelectorAll("[data-lang]")) b.addEventListener("click", () => setLang(b.dataset.lang));
function showLang() {
  for (const b of document.querySelectorAll("[data-lang]")) b.setAttribute("aria-pressed", String(b.dataset.lang === lang()));
}
onLangChange(() => {
  showLang();
  setStatus(state.status);
  const sel = $("inspect-run");
  for (const o of sel.options) o.textContent = tOr("run.", o.value);
  surface.relabel(); loss.relabel(); data.relabel(); counters.relabel(); step.relabel(); timeline.relabel();
  showWatching();
  if (noticeText) $("notice-text").textContent = noticeText();
  if (state.cursor !== null) showInspected();
  requestDraw();
});

function setLarge(on) {
  document.body.classList.toggle("large", on);
  document.documentElement.classList.toggle("large", on);
  $("btn-large").setAttribute("aria-pressed", String(on));
  try { localStorage.setItem("dp.large", on ? "1" : "0"); } catch (_) { /* ignore */ }
  surface.relabel(); loss.relabel(); data.relabel();
  requestDraw();
  window.dispatchEvent(new Event("resize"));
}
$("btn-large").addEventListener("click", () => setLarge(!document.body.classList.contains("large")));

// ---- boot
if (ROOM) $("surface-empty").dataset.i18n = "room.waiting";
applyI18n();
showLang();
try {
  if (localStorage.getItem("dp.large") === "1") { document.body.classList.add("large"); document.documentElement.classList.add("large"); }
} catch (_) { /* ignore */ }
$("btn-large").setAttribute("aria-pressed", String(document.body.classList.contains("large")));
setStatus("idle");
counters.reset();
step.reset();
if (ROOM) {
  $("inspect-run").disabled = true; // the viewer follows the presenter's run
  showWatching();
  socket.open();
} else {
  const notices = page.notices || [];
  if (notices.length) {
    showNotice(() => [t("link.notice"), ...notices.map((n) =>
      `• ${n.field || "?"}${n.value ? ` = “${n.value}”` : ""}: ${errorText(n)}`)].join("\n"), "link");
  }
  controls.loadDatasets().then(() => {
    controls.setConfig(initialConfig);
    classroom.represent();
    if (page.autoplay) start(); else prime();
  });
}
