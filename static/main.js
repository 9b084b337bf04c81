// Descent Playground: wires the socket's messages (one dispatch table) to the widgets that own
// them, and batches every DOM / plot update into one requestAnimationFrame.

import { t, tOr, lang, setLang, applyI18n, onLangChange } from "./js/i18n.js";
import { runColor } from "./js/common.js";
import { createSocket } from "./js/socket.js";
import { createControls } from "./js/controls.js";
import { createSurface } from "./js/surface.js";
import { createLossChart } from "./js/losschart.js";
import { createDataView } from "./js/dataview.js";
import { createCounters } from "./js/counters.js";
import { createStepPanel } from "./js/steppanel.js";

const $ = (id) => document.getElementById(id);

// ---- state (read by the tests through window.__dp)
const state = {
  generation: null,     // the generation of the run on screen; messages of others are ignored
  awaitingStart: false, // a start was sent; ignore everything until its `started`
  status: "idle",       // idle | running | paused | done
  paused: false,
  runs: [],             // started.runs
  counts: {},           // points received per run (this generation)
  statuses: {},         // per run status
  iterations: {},       // per run latest iteration
  inspected: null,
  batchSurface: false,
  config: null,
  model: null,
  dataset: null,
  surfaceKind: null,
  lrLimit: null,
  details: {},          // latest detail per run
  received: { started: 0, surface: 0, frame: 0, detail: 0, done: 0, state: 0, error: 0, stale: 0 },
  lastError: null,
};

// ---- widgets
const surface = createSurface($("surface-plot"), { emptyEl: $("surface-empty"), captionEl: $("surface-caption") });
const loss = createLossChart($("loss-plot"));
const data = createDataView($("data-plot"));
const counters = createCounters($("counters"), { onPick: (name) => inspect(name) });
const step = createStepPanel($("step-body"), $("step-sub"));

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
function setStatus(s) {
  state.status = s;
  document.body.dataset.status = s;
  controls.setStatus(s);
  const label = $("run-state");
  label.textContent = s === "idle" ? "" : t(`status.${s === "done" ? "completed" : s}`);
  label.dataset.status = s;
}

// ---- notices
function showNotice(text) {
  $("notice-text").textContent = text;
  $("notice").hidden = false;
}
function hideNotice() { $("notice").hidden = true; }
$("notice-close").addEventListener("click", hideNotice);

function errorText(msg) {
  // English: the server's own sentence is the most precise; other languages: translate by code.
  if (lang() === "en" && msg.message) return msg.message;
  const key = `err.${msg.code}`;
  const tr = t(key, { field: msg.field || "" });
  return tr !== key ? tr : msg.message || msg.code || "error";
}

// ---- socket and its dispatch table
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
    state.runs = msg.runs || [];
    state.config = msg.config || null;
    state.model = msg.model || null;
    state.dataset = msg.dataset || null;
    state.counts = {}; state.statuses = {}; state.iterations = {}; state.details = {};
    state.surfaceKind = null; state.lrLimit = null;
    for (const r of state.runs) { state.counts[r.name] = 0; state.statuses[r.name] = "running"; state.iterations[r.name] = 0; }
    controls.showConfig(state.config);
    surface.reset(); surface.setRuns(state.runs);
    loss.setRuns(state.runs, msg.initial_loss);
    data.reset(); if (state.dataset) data.setDataset(state.dataset);
    counters.setRuns(state.runs, state.config || {});
    step.setModel(state.model, state.config && state.config.loss);
    fillInspect();
    if (state.status !== "paused") setStatus("running");
    requestDraw();
  },
  surface(msg) {
    state.received.surface += 1;
    if (!current(msg)) return;
    state.surfaceKind = msg.kind;
    state.lrLimit = msg.lr_limit ?? null;
    controls.setLrLimit(state.lrLimit);
    surface.setSurface(msg, state.model && state.model.n_params);
    requestDraw();
  },
  frame(msg) {
    state.received.frame += 1;
    if (!current(msg)) return;
    for (const [name, points] of Object.entries(msg.runs || {})) {
      const i = runIndex(name);
      if (i < 0 || !Array.isArray(points) || !points.length) continue;
      state.counts[name] += points.length;
      const last = points[points.length - 1];
      state.iterations[name] = last.iteration;
      surface.push(i, points);
      loss.push(i, points);
      counters.update(i, last);
      if (last.status && last.status !== state.statuses[name]) runStatus(i, last.status, last.iteration);
    }
    requestDraw();
  },
  detail(msg) {
    state.received.detail += 1;
    if (!current(msg)) return;
    state.details[msg.run] = msg;
    if (msg.run === state.inspected) showDetail(msg);
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
    requestDraw();
  },
  state(msg) {
    state.received.state += 1;
    state.paused = !!msg.paused;
    if (state.status === "running" || state.status === "paused") setStatus(state.paused ? "paused" : "running");
  },
  error(msg) {
    state.received.error += 1;
    state.lastError = msg;
    showNotice(errorText(msg));
    if (state.awaitingStart && (!msg.field || String(msg.field).startsWith("config"))) {
      state.awaitingStart = false;
      setStatus(state.generation === null ? "idle" : state.status);
    }
  },
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
  const i = runIndex(d.run);
  if (d.prediction) data.setPrediction(d.prediction, d.run, i >= 0 ? runColor(state.runs[i]) : undefined);
  requestDraw();
}

const socket = createSocket({
  handlers,
  onLost() {
    if (state.generation !== null || state.awaitingStart) showNotice(t("err.connection"));
    state.generation = null;
    state.awaitingStart = false;
    state.paused = false;
    if (state.status !== "idle") setStatus("done");
  },
  onOpen() { if ($("notice-text").textContent === t("err.connection")) hideNotice(); },
});

// ---- inspected run
function fillInspect() {
  const sel = $("inspect-run");
  sel.textContent = "";
  for (const r of state.runs) {
    const o = document.createElement("option");
    o.value = r.name;
    o.textContent = tOr("run.", r.name);
    sel.append(o);
  }
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
  const d = state.details[name];
  if (d) showDetail(d); else { surface.setDetail(null); requestDraw(); }
}
function sendInspect() {
  if (state.generation === null && !state.awaitingStart) return;
  socket.send({ type: "inspect", run: state.inspected, batch_surface: state.batchSurface && state.surfaceKind !== "projected" });
}
$("inspect-run").addEventListener("change", (ev) => inspect(ev.target.value));

// ---- actions
function start() {
  if (state.status === "paused" && state.generation !== null) { resume(); return; }
  const config = controls.getConfig();
  if (!config) return false;
  hideNotice();
  state.awaitingStart = true;
  state.generation = null;
  state.paused = false;
  socket.send({ type: "start", config });
  setStatus("running");
  return true;
}
function resume() {
  socket.send({ type: "resume" });
  state.paused = false;
  setStatus("running");
}
function pause() {
  if (state.status !== "running") return;
  socket.send({ type: "pause" });
  state.paused = true;
  setStatus("paused");
}
function stepOnce() {
  if (state.status === "idle" || state.status === "done") {
    if (!start()) return;
    socket.send({ type: "pause" });
    state.paused = true;
    setStatus("paused");
  } else if (state.status === "running") {
    pause();
  }
  socket.send({ type: "step" });
}
function reset() {
  if (state.generation !== null || state.awaitingStart) socket.send({ type: "stop" });
  state.generation = null;
  state.awaitingStart = false;
  state.paused = false;
  state.runs = []; state.counts = {}; state.statuses = {}; state.iterations = {}; state.details = {};
  surface.reset(); loss.reset(); data.reset(); counters.reset(); step.reset();
  controls.setLrLimit(null);
  $("inspect-run").textContent = "";
  setStatus("idle");
}
function configChanged() {
  if (state.status === "running") start();
  else if (state.status === "paused") { if (start()) { socket.send({ type: "pause" }); state.paused = true; setStatus("paused"); } }
}
function speedChanged(v) {
  if (state.generation !== null || state.awaitingStart) socket.send({ type: "speed", value: v });
}

const controls = createControls({
  onStart: start, onPause: pause, onStep: stepOnce, onReset: reset,
  onConfigChange: configChanged, onSpeed: speedChanged, onError: showNotice,
});

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
  surface.relabel(); loss.relabel(); data.relabel(); counters.relabel(); step.relabel();
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
applyI18n();
showLang();
try {
  if (localStorage.getItem("dp.large") === "1") { document.body.classList.add("large"); document.documentElement.classList.add("large"); }
} catch (_) { /* ignore */ }
$("btn-large").setAttribute("aria-pressed", String(document.body.classList.contains("large")));
setStatus("idle");
counters.reset();
step.reset();
controls.loadDatasets();
