// What the teacher's buttons do: start, pause, step, reset, a changed control or speed, and the
// command queue. A paused start ("priming") shows the surface, the data and the start point
// before Start, which then only resumes it. A start is built in the background: pause, resume,
// step and stop wait in the queue until the server has it (`surface`, or `state` for a paused one).

import { t } from "./i18n.js";
import { state, ROOM, readOnly, configKey } from "./state.js";
import { lessonRef } from "./lessons.js";

export function createActions(ui) {
  let settled = false, waiting = [];
  function command(msg) { if (settled) ui.socket.send(msg); else waiting.push(msg); }
  function settle() { settled = true; for (const m of waiting.splice(0)) ui.socket.send(m); }

  function sendStart(config, paused) {
    settled = false;
    waiting = [];
    ui.notice.hide("error");
    Object.assign(state, { awaitingStart: true, generation: null, paused, asked: paused, primed: paused ? configKey(config) : null, sent: configKey(config) });
    const lesson = lessonRef(); // the step on screen: viewers show it too
    ui.socket.send({ type: "start", config, paused, ...(lesson && { lesson }) });
    // inspect at once: a fast race may end before `started`
    // a new race: the second run, unless the user chose one that is still there
    if (!state.picked || !config.runs.some((r) => r.name === state.inspected)) state.inspected = (config.runs[1] || config.runs[0]).name;
    ui.inspect.send();
  }
  function prime() {
    if (readOnly()) return;
    const config = ui.controls.getConfig();
    if (config) sendStart(config, true);
  }
  function start() {
    if (readOnly()) return false;
    if (state.status === "paused" && state.generation !== null) { resume(); return true; }
    const config = ui.controls.getConfig();
    if (!config) return false;
    if (state.status === "idle" && state.primed === configKey(config)) { resume(); return true; }
    sendStart(config, false);
    ui.views.setStatus("running");
    return true;
  }
  function resume() {
    state.paused = state.asked = false;
    command({ type: "resume" });
    ui.views.setStatus("running");
  }
  function pause() {
    if (state.status !== "running" || readOnly()) return;
    state.paused = state.asked = true;
    command({ type: "pause" });
    ui.views.setStatus("paused");
  }
  function stepOnce() {
    if (readOnly()) return;
    if (state.status === "running") pause();
    else if (state.status !== "paused") {
      const config = ui.controls.getConfig();
      if (!config) return;
      if (!(state.status === "idle" && state.primed === configKey(config))) sendStart(config, true);
      ui.views.setStatus("paused");
    }
    command({ type: "step" });
  }
  function reset() {
    if (ROOM) return;
    if (state.replay) ui.replay.leave();
    ui.views.clear();
    ui.views.setStatus("idle");
    prime();
  }
  function configChanged() {
    if (readOnly()) return;
    const config = ui.controls.getConfig();
    if (!config) return;
    if (state.status === "running" || state.status === "paused") sendStart(config, state.status === "paused");
    else if (state.status === "done" || state.primed !== configKey(config)) { sendStart(config, true); ui.views.setStatus("idle"); }
  }
  function speedChanged(v) {
    if (state.generation !== null || state.awaitingStart) ui.socket.send({ type: "speed", value: v });
    if (!readOnly() && state.config) ui.classroom.syncUrl({ ...state.config, speed: v });
  }

  // ---- the socket's connection
  function connectionLost() {
    if (readOnly()) return;
    if (state.generation !== null || state.awaitingStart) ui.notice.show(() => t("err.connection"), "conn");
    Object.assign(state, { generation: null, awaitingStart: false, paused: false, primed: null });
    settled = false;
    if (state.status !== "idle") ui.views.setStatus("done");
  }
  function connected(n) {
    if (ROOM) return;
    ui.notice.hide("conn");
    const again = () => { if (state.status === "idle") prime(); };
    if (n > 1 && !ui.classroom.represent(again)) again();
  }
  /** The server resumed this room's race (`presenting` with `resumed`): its run so far follows. */
  function adopt() {
    const c = ui.controls.getConfig(), key = c && configKey(c);
    settled = false;
    waiting = [];
    Object.assign(state, { awaitingStart: false, generation: null, resuming: true, sent: key, primed: key });
    ui.views.setStatus("idle");
  }

  // ---- what the share dialog and the files menu send to the server
  /** The config on screen (for a share link or a room), with the speed. */
  function shareConfig() {
    const c = ui.controls.getConfig() || state.config;
    return c && { ...c, speed: ui.controls.speedValue() };
  }
  /** What to export: the race's config, each run cut where the screen is. */
  function exportRequest() {
    if (!state.config) { ui.notice.show(t("err.no_run")); return null; }
    const iterations = {};
    for (const [name, it] of Object.entries(state.iterations)) iterations[name] = state.cursor === null ? it : Math.min(it, state.cursor);
    const lrMap = ui.map.current; // the learning-rate map of this config, if one was computed
    return { config: state.config, iterations, ...(lrMap && { lr_map: lrMap }) };
  }

  return { command, settle, prime, start, pause, stepOnce, reset, configChanged, speedChanged,
    connectionLost, connected, adopt, shareConfig, exportRequest };
}
