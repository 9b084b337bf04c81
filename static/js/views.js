// The page around the widgets: the status badge, emptying every view, the plane toggle, the
// surface's and the loss chart's view toggles, the language buttons and large text.

import { t, lang, setLang } from "./i18n.js";
import { $ } from "./common.js";
import { announce } from "./announce.js";
import { state, ROOM, readOnly, clearRuns, total } from "./state.js";

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
