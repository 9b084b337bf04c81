// The top bar: dataset and model settings, learning rate (log slider with the 2/λ_max mark),
// batch size, epochs, stopping, speed and pacing; the buttons, keyboard keys, the phone drawer
// and the help pop-up. It reads the form into a `config`, sets the form from one (a share link,
// a loaded file) and tells main.js what the user did.

import { t, tOr, onLangChange } from "./i18n.js";
import { $, FACTS, fmt } from "./common.js";
import { TYPED, parse, check, isBad, say, relabel, serverError, clearHints } from "./formcheck.js";

const LR_MIN = 0.001;
const LR_MAX = 10;
const BATCHES = [2, 4, 8, 16, 32, 64, 128, 256];
const DEFAULT_RUNS = FACTS.default_runs; // the engine's, as the server sends them

const CUSTOM = "custom"; // a user's own points (customdata.js holds them)

export function createControls({ onStart, onPause, onStep, onReset, onConfigChange, onSpeed, onError, custom }) {
  const els = {
    dataset: $("c-dataset"), classes: $("c-classes"), fClasses: $("f-classes"),
    noise: $("c-noise"), samples: $("c-samples"), hidden: $("c-hidden"),
    activation: $("c-activation"), loss: $("c-loss"), reason: $("loss-reason"),
    seed: $("c-seed"), target: $("c-target"), patience: $("c-patience"), repeats: $("c-repeats"),
    lrRange: $("c-lr-range"), lr: $("c-lr"), lrMark: $("lr-mark"), lrMarkLabel: $("lr-mark-label"),
    lrWarn: $("lr-warn"), batch: $("c-batch"), epochs: $("c-epochs"),
    speed: $("c-speed"), speedOut: $("speed-out"), speedMax: $("c-speed-max"), pacing: $("c-pacing"),
    start: $("btn-start"), pause: $("btn-pause"), step: $("btn-step"), reset: $("btn-reset"),
    form: $("controls"), drawer: $("drawer-toggle"),
  };
  let datasets = [];
  let lrLimit = null;
  let status = "idle";
  let debounce = null;
  let locked = false; // a replay: the form shows the file's config and cannot change it
  let runs = DEFAULT_RUNS; // the contestants (a link may bring others); the batch field sets the mini-batch one

  // ---- batch sizes: powers of two
  for (const b of BATCHES) {
    const o = document.createElement("option");
    o.value = String(b);
    o.textContent = String(b);
    els.batch.append(o);
  }
  els.batch.value = "32";
  /** The run the batch-size field controls: "Mini-batch", else the first with a batch above 1. */
  function batchRun() { return runs.find((r) => r.name === "Mini-batch") || runs.find((r) => r.batch_size > 1); }

  // ---- datasets
  function spec() {
    if (els.dataset.value !== CUSTOM) return datasets.find((d) => d.name === els.dataset.value) || null;
    const d = datasets.find((s) => s.task === custom().kind()); // the losses of the points' task
    return d && { ...d, name: CUSTOM, has_classes: false, hidden_hint: [] };
  }

  function fillDatasets() {
    const keep = els.dataset.value || "linear";
    els.dataset.textContent = "";
    const groups = new Map();
    for (const d of datasets) {
      if (!groups.has(d.task)) {
        const g = document.createElement("optgroup");
        g.label = tOr("task.", d.task);
        groups.set(d.task, g);
        els.dataset.append(g);
      }
      const o = document.createElement("option");
      o.value = d.name;
      o.textContent = tOr("ds.", d.name);
      o.title = d.description || "";
      groups.get(d.task).append(o);
    }
    els.dataset.append(new Option(t("ds.custom"), CUSTOM));
    if (keep === CUSTOM || datasets.some((d) => d.name === keep)) els.dataset.value = keep;
  }

  function fillLosses(keepValue) {
    const s = spec();
    if (!s) return;
    const want = keepValue && s.allowed_losses.includes(keepValue) ? keepValue : s.default_loss;
    els.loss.textContent = "";
    for (const name of s.allowed_losses) {
      const o = document.createElement("option");
      o.value = name;
      o.textContent = tOr("loss.", name);
      els.loss.append(o);
    }
    els.loss.value = want;
    els.reason.textContent = t(`reason.${s.task}`);
    els.reason.title = t(`reason.${s.task}`);
  }

  function applyDatasetDefaults() {
    const s = spec();
    if (!s) return;
    els.noise.value = String(s.default_noise);
    const lim = s.limits || {};
    if (lim.noise) { els.noise.min = lim.noise[0]; els.noise.max = lim.noise[1]; }
    if (lim.n_samples) els.samples.max = String(Math.min(5000, lim.n_samples[1]));
    els.fClasses.hidden = !s.has_classes;
    els.noise.parentNode.hidden = els.samples.parentNode.hidden = s.name === CUSTOM; // given points
    if (s.has_classes && s.default_n_classes) els.classes.value = String(s.default_n_classes);
    fillLosses(null);
    recheck();
  }

  // ---- a set no straight boundary can split (the server's hidden_hint): a hidden layer, said
  let added = null; // the hidden layers this put in, while the field still holds them
  /** After a choice of dataset (`chosen`) or of hidden layers: add, suggest or take back a hint. */
  function hint(chosen) {
    const s = spec();
    const w = ((s && s.hidden_hint) || []).join(",");
    const words = (key) => () => t(key, { ds: tOr("ds.", s.name), w, label: t("ctl.hidden") });
    const ours = added !== null && els.hidden.value === added;
    if (isBad("c-hidden")) return;
    if (chosen && w && (!els.hidden.value.trim() || ours)) {
      els.hidden.value = added = w;
      say("c-hidden", words("form.added"), "info");
    } else if (chosen && ours && !w) {
      els.hidden.value = "";
      added = null;
      say("c-hidden", words("form.removed"), "info");
    } else if (w && !els.hidden.value.trim()) {
      added = null;
      say("c-hidden", words("form.suggest"), "info");
    } else if (!ours) {
      added = null;
      say("c-hidden", null);
    }
  }
  /** Fields marked wrong are checked again (a value was set for them). */
  function recheck() { for (const id of TYPED) if (isBad(id)) check(id); }

  async function loadDatasets() {
    try {
      const res = await fetch("/api/datasets");
      if (!res.ok) throw new Error(String(res.status));
      datasets = await res.json();
    } catch (_) {
      datasets = [];
      onError(t("err.datasets"));
      return;
    }
    fillDatasets();
    applyDatasetDefaults();
  }

  // ---- learning rate: log slider + number
  function lrToPos(lr) { return Math.log10(Math.min(LR_MAX, Math.max(LR_MIN, lr))); }
  function posToLr(pos) {
    const v = 10 ** Number(pos);
    // two significant digits from the slider: 0.05, 0.2, 1.5
    return Number(v.toPrecision(2));
  }
  /** The learning rate typed, or null when it is wrong (it is never changed for the user). */
  function lrValue() { return parse("c-lr") ?? null; }
  function placeLrMark() {
    if (lrLimit === null || !(lrLimit > 0)) {
      els.lrMark.hidden = true;
      els.lrWarn.hidden = true;
      els.lr.classList.remove("over");
      return;
    }
    const frac = (lrToPos(lrLimit) - Math.log10(LR_MIN)) / (Math.log10(LR_MAX) - Math.log10(LR_MIN));
    els.lrMark.hidden = false;
    els.lrMark.style.left = `calc(${(frac * 100).toFixed(2)}% + ${(8 - 16 * frac).toFixed(1)}px)`;
    els.lrMarkLabel.textContent = t("lr.limit", { v: fmt(lrLimit, 3) });
    els.lrMark.title = t("lr.limit_title");
    const over = lrValue() !== null && lrValue() > lrLimit;
    els.lrWarn.hidden = !over;
    els.lrWarn.textContent = over ? t("lr.warn", { v: fmt(lrLimit, 3) }) : "";
    els.lr.classList.toggle("over", over);
    els.lrRange.classList.toggle("over", over);
  }
  els.lrRange.addEventListener("input", () => {
    els.lr.value = String(posToLr(els.lrRange.value));
    check("c-lr");
    placeLrMark();
  });
  els.lrRange.addEventListener("change", () => configChanged());
  els.lr.addEventListener("input", () => {
    if (lrValue() !== null) els.lrRange.value = String(lrToPos(lrValue()));
    placeLrMark();
  });

  // ---- speed: log slider 1…1000 it/s, or max (0)
  function speedValue() {
    if (els.speedMax.checked) return 0;
    return Math.max(1, Math.round(10 ** Number(els.speed.value)));
  }
  function showSpeed() {
    els.speedOut.textContent = els.speedMax.checked ? t("ctl.speed_max") : `${speedValue()} ${t("ctl.speed_unit")}`;
    els.speed.disabled = els.speedMax.checked || locked;
  }
  els.speed.addEventListener("input", showSpeed);
  els.speed.addEventListener("change", () => onSpeed(speedValue()));
  els.speedMax.addEventListener("change", () => { showSpeed(); onSpeed(speedValue()); });

  // ---- everything else that defines a run
  els.dataset.addEventListener("change", () => { applyDatasetDefaults(); hint(true); custom().show(); configChanged(); });
  for (const e of [els.classes, els.activation, els.loss, els.batch, els.pacing, els.repeats]) {
    e.addEventListener("change", () => configChanged());
  }
  // a typed field is checked when it is left (or Enter), and cleared as soon as it is right
  for (const id of TYPED) {
    $(id).addEventListener("input", () => { if (isBad(id)) check(id); });
    $(id).addEventListener("change", () => {
      if (check(id) && id === "c-hidden") hint(false);
      configChanged();
    });
  }
  els.form.addEventListener("submit", (ev) => ev.preventDefault());

  function configChanged() {
    clearTimeout(debounce);
    debounce = setTimeout(() => { debounce = null; onConfigChange(); }, 150);
  }
  /** A change still waiting for its debounce happens now (before Start or Step reads the form). */
  function flushChange() {
    if (debounce === null) return;
    clearTimeout(debounce);
    debounce = null;
    onConfigChange();
  }

  /** The first field that is wrong (every wrong one says so), or null. */
  function firstBad() { return TYPED.filter((id) => !check(id))[0] || null; }

  /** The form as a protocol `config`, or null if a field is wrong (it says so under itself). */
  function getConfig() {
    if (firstBad()) return null;
    const s = spec();
    const config = {
      dataset: els.dataset.value || "linear",
      n_samples: parse("c-samples"),
      seed: parse("c-seed"),
      hidden: parse("c-hidden"),
      activation: els.activation.value,
      lr: lrValue(),
      epochs: parse("c-epochs"),
      speed: speedValue(),
      pacing: els.pacing.value,
      target_loss: parse("c-target"),
      patience: parse("c-patience"),
      repeats: Number(els.repeats.value),
      runs: getRuns(),
      noise: parse("c-noise"),
    };
    if (els.loss.value) config.loss = els.loss.value;
    if (config.dataset === CUSTOM) {
      config.data = custom().data();
      if (!config.data) return null; // nothing to train on yet
      delete config.n_samples; delete config.noise;
    }
    if (s && s.has_classes) config.n_classes = Number(els.classes.value);
    return config;
  }

  /** The runs of the next start, the batch field's value in its run. */
  function getRuns() {
    const mb = batchRun();
    return runs.map((r) => (r === mb ? { ...r, batch_size: Number(els.batch.value) } : { ...r }));
  }
  /** The contestants (a link's, a file's or the runs editor's); the batch field follows its run. */
  function setRuns(list) {
    runs = list.map((r) => ({ ...r }));
    const mb = batchRun();
    $("f-batch").hidden = !mb;
    if (!mb) return;
    if (![...els.batch.options].some((o) => o.value === String(mb.batch_size))) els.batch.add(new Option(mb.batch_size, mb.batch_size));
    els.batch.value = String(mb.batch_size);
  }

  /** Every control from a config: a share link's, a saved run's, or the server's resolved one. */
  function setConfig(c) {
    if (!c) return;
    const before = els.dataset.value + els.hidden.value;
    const put = (input, v) => { input.value = v === null || v === undefined ? "" : String(v); };
    if (Array.isArray(c.runs) && c.runs.length) setRuns(c.runs);
    if (els.dataset.value !== c.dataset && (c.dataset === CUSTOM || datasets.some((d) => d.name === c.dataset))) { els.dataset.value = c.dataset; applyDatasetDefaults(); }
    if (c.data) custom().load(c.data);
    if (typeof c.noise === "number") put(els.noise, c.noise);
    if (typeof c.n_samples === "number") put(els.samples, c.n_samples);
    if (typeof c.loss === "string") fillLosses(c.loss);
    if (typeof c.n_classes === "number" && spec() && spec().has_classes) put(els.classes, c.n_classes);
    put(els.hidden, (c.hidden || []).join(","));
    for (const [input, v] of [[els.activation, c.activation], [els.seed, c.seed], [els.epochs, c.epochs], [els.pacing, c.pacing]]) if (v !== undefined) put(input, v);
    put(els.target, c.target_loss);
    put(els.patience, c.patience);
    put(els.repeats, c.repeats || 1);
    if (c.lr > 0) { put(els.lr, c.lr); els.lrRange.value = String(lrToPos(c.lr)); placeLrMark(); }
    if (typeof c.speed === "number") {
      els.speedMax.checked = c.speed === 0;
      if (c.speed > 0) els.speed.value = String(Math.log10(c.speed));
      showSpeed();
    }
    recheck();
    if (els.dataset.value + els.hidden.value !== before) hint(false); // a link's or a file's, not our own echo
  }

  function setLocked(on) {
    locked = on;
    for (const e of els.form.querySelectorAll("input, select")) e.disabled = on;
    showSpeed();
    setStatus(status);
  }

  function setLrLimit(v) {
    lrLimit = typeof v === "number" && Number.isFinite(v) ? v : null;
    placeLrMark();
  }

  // ---- buttons and keys
  function setStatus(s) {
    status = s;
    els.start.textContent = t(s === "paused" ? "btn.resume" : s === "done" ? "btn.again" : "btn.start");
    els.start.disabled = s === "running" || locked;
    els.pause.disabled = s !== "running" || locked;
    els.step.disabled = locked;
  }
  /** Nothing starts from a wrong field: it is shown (the drawer opens on a phone, "More" opens
   *  round a rare field) and focused. */
  function ready() {
    const bad = firstBad();
    // after this click: a tap outside the drawer (or More) would close it again
    if (bad) setTimeout(() => {
      if (els.drawer.offsetParent) setDrawer(true);
      const more = $(bad).closest("details");
      if (more) more.open = true;
      $(bad).focus();
    });
    else clearHints(); // read by now; the bar gives its room back to the plots
    return !bad;
  }
  els.start.addEventListener("click", () => { flushChange(); if (ready()) onStart(); });
  els.pause.addEventListener("click", () => onPause());
  els.step.addEventListener("click", () => { flushChange(); if (ready()) onStep(); });
  els.reset.addEventListener("click", () => onReset());

  function typing(target) {
    if (!target || !target.tagName) return false;
    const tag = target.tagName;
    return tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA" || target.isContentEditable;
  }
  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target) || document.querySelector("dialog[open]")) return;
    if (document.body.classList.contains("viewer")) return;
    if (ev.key === " " || ev.code === "Space") {
      ev.preventDefault();
      flushChange();
      if (status === "running") onPause(); else if (ready()) onStart();
    } else if (ev.key === "ArrowRight") {
      ev.preventDefault();
      flushChange();
      if (ready()) onStep();
    } else if (ev.key === "r" || ev.key === "R") {
      ev.preventDefault();
      onReset();
    } else if (ev.key === "Escape") {
      closeHelp();
      setDrawer(false);
    }
  });

  // ---- phone drawer
  function setDrawer(open) {
    document.body.classList.toggle("drawer-open", open);
    els.drawer.setAttribute("aria-expanded", String(open));
  }
  els.drawer.addEventListener("click", () => setDrawer(!document.body.classList.contains("drawer-open")));
  $("drawer-close").addEventListener("click", () => setDrawer(false));
  document.addEventListener("click", (ev) => {
    // a tap beside the open drawer closes it
    if (document.body.classList.contains("drawer-open") && !els.form.contains(ev.target) && !els.drawer.contains(ev.target)) setDrawer(false);
  });

  // ---- help pop-up: the source material's explanations
  const pop = $("help-pop");
  let helpFor = null;
  function openHelp(btn) {
    const key = btn.dataset.help;
    if (helpFor === btn && !pop.hidden) { closeHelp(); return; }
    helpFor = btn;
    $("help-title").textContent = t(`help.title.${key}`);
    $("help-text").textContent = t(`help.${key}`);
    pop.dataset.key = key;
    pop.hidden = false;
    const r = btn.getBoundingClientRect();
    const w = pop.offsetWidth;
    const left = Math.max(8, Math.min(window.innerWidth - w - 8, r.left + r.width / 2 - w / 2));
    pop.style.left = `${left + window.scrollX}px`;
    pop.style.top = `${r.bottom + 8 + window.scrollY}px`;
  }
  function closeHelp() { pop.hidden = true; helpFor = null; }
  document.addEventListener("click", (ev) => {
    const btn = ev.target.closest && ev.target.closest("button.help");
    if (btn) { ev.preventDefault(); openHelp(btn); return; }
    if (!pop.hidden && !pop.contains(ev.target)) closeHelp();
  });
  $("help-close").addEventListener("click", closeHelp);

  onLangChange(() => {
    if (datasets.length) { fillDatasets(); fillLosses(els.loss.value); }
    placeLrMark();
    showSpeed();
    setStatus(status);
    relabel();
    if (!pop.hidden && pop.dataset.key) {
      $("help-title").textContent = t(`help.title.${pop.dataset.key}`);
      $("help-text").textContent = t(`help.${pop.dataset.key}`);
    }
  });

  showSpeed();
  setStatus("idle");

  return { loadDatasets, getConfig, setConfig, getRuns, setRuns, setLocked, setLrLimit, setStatus, speedValue, setDrawer, serverError,
    taskChanged: () => fillLosses(els.loss.value) };
}

// The top bar's "More" disclosure (a <details>): a click elsewhere or Escape closes it (Escape
// gives the focus back to its summary), and Space on the summary opens it instead of starting.

export function createMore(details) {
  const summary = details.querySelector("summary");
  const inDrawer = () => document.body.classList.contains("drawer-open");
  document.addEventListener("click", (ev) => {
    if (details.open && !inDrawer() && !details.contains(ev.target)) details.open = false;
  });
  details.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && details.open) {
      ev.stopPropagation();
      details.open = false;
      summary.focus();
    } else if (ev.target === summary && (ev.key === " " || ev.key === "Enter")) {
      ev.stopPropagation(); // the page's own keys (Space = start) stay out of the summary's way
    }
  });
}
