// The dispatch table: one handler per message `type` from the socket (or a replayed file). A
// handler updates the state and tells the widgets that own the data; drawing waits for the next
// animation frame. The generation gate makes a late message of an older run harmless.

import { $, fmtInt, announce } from "./common.js";
import { t, lang } from "./i18n.js";
import { state, ROOM, readOnly, clearRuns, total, runIndex, configKey, thin } from "./state.js";

const RUN_MESSAGES = new Set(["started", "surface", "frame", "detail", "state", "done"]);
const MAX_PREDICTIONS = 400; // per run: models kept for the timeline (even: `thin` then keeps the newest)
const KEEP_NUMBERS = 4e6;    // the timeline's memory; beyond it the older half of each run is thinned

export function createDispatch(ui) {
  const current = (msg) => {
    if (state.awaitingStart || state.generation === null || msg.generation !== state.generation) {
      state.received.stale += 1;
      return false;
    }
    return true;
  };

  const handlers = {
    started(msg) {
      state.received.started += 1;
      state.awaitingStart = false;
      state.generation = msg.generation;
      clearRuns(msg.runs || []);
      state.config = msg.config || null;
      const n = (state.config && state.config.repeats) || 1, key = $("loss-key");
      ui.rep.reset(state.runs, n);
      key.textContent = t(key.dataset.i18n = n > 1 ? "rep.key" : "loss.key");
      state.model = msg.model || null;
      state.dataset = msg.dataset || null;
      state.initialLoss = msg.initial_loss ?? null;
      ui.lessons.follow(msg.lesson); // a viewer: the presenter's lesson step
      // the server's defaults filled in, unless the user changed a control since this start
      if (!ROOM && state.config && configKey(ui.controls.getConfig()) === state.sent) {
        ui.controls.setConfig({ ...state.config, speed: undefined });
        state.sent = configKey(ui.controls.getConfig()); // the same race, as the form now spells it (the map's key)
      }
      ui.counters.setRuns(state.runs, state.config || {}); // first: its height sets the plots' rows
      ui.surface.reset(); ui.surface.setRuns(state.runs);
      ui.loss.setRuns(state.runs, msg.initial_loss);
      ui.data.reset(); if (state.dataset) ui.data.setDataset(state.dataset);
      ui.step.setModel(state.model, state.config && state.config.loss);
      ui.custom.sync(); // the editor's points stay on screen; "Edit these points" needs a built-in set
      ui.timeline.reset();
      ui.inspect.fill();
      ui.views.setStatus(ROOM ? "idle" : state.status); // a viewer: "ready" until frames or a `state`
      if (!readOnly() && state.config) ui.classroom.syncUrl({ ...state.config, speed: ui.controls.speedValue() });
      ui.views.showPca();
      ui.draw.request();
    },
    surface(msg) {
      state.received.surface += 1;
      if (!current(msg)) return;
      state.surfaceKind = msg.kind;
      state.plane = msg.plane || null;
      state.lrLimit = msg.lr_limit ?? null;
      ui.controls.setLrLimit(state.lrLimit);
      if (!state.asked) ui.actions.settle(); // an unpaused start's race exists from here on
      if (msg.paths) moveToPlane(msg.paths);
      ui.surface.setSurface(msg, state.model && state.model.n_params);
      ui.views.showPca();
      ui.draw.request();
    },
    frame(msg) {
      state.received.frame += 1;
      if (!current(msg)) return;
      const first = !total();
      if (msg.thinned && !state.thinned) { state.thinned = true; ui.timeline.setThinned(true); }
      for (const [name, got] of Object.entries(msg.runs || {})) {
        const i = runIndex(name);
        if (i < 0 || !Array.isArray(got)) continue;
        const points = ui.rep.take(i, got); // repeat 0's: the run's own (the others: repeats.js)
        if (ui.rep.on) ui.loss.push(i, ui.rep.medians(i)); // the loss chart draws the median
        if (!points.length) continue;
        state.counts[name] += points.length;
        const kept = state.points[name];
        for (const p of points) kept.push(p);
        const last = points[points.length - 1];
        state.iterations[name] = last.iteration;
        ui.surface.push(i, points);
        if (!ui.rep.on) ui.loss.push(i, points);
        ui.counters.update(i, last);
        if (last.status && last.status !== state.statuses[name]) runStatus(i, last.status, last.iteration);
      }
      ui.timeline.setMax(Math.max(0, ...Object.values(state.iterations)));
      const size = 8 + ((state.model && state.model.n_params) || 2);
      if (Object.values(state.points).reduce((n, p) => n + p.length, 0) * size > KEEP_NUMBERS) thinPoints();
      if (first) { ui.views.setStatus(ROOM && state.status === "idle" ? "running" : state.status); ui.views.showPca(); }
      ui.draw.request();
    },
    detail(msg) {
      state.received.detail += 1;
      if (!current(msg)) return;
      state.details[msg.run] = msg;
      if (msg.residual_summary) ui.surface.setResidual(msg.residual_summary);
      if (msg.prediction) {
        const h = state.predictions[msg.run] || (state.predictions[msg.run] = []);
        h.push([msg.iteration, msg.prediction]);
        if (h.length > MAX_PREDICTIONS) state.predictions[msg.run] = thin(h);
      }
      if (ROOM && msg.run !== state.inspected) ui.inspect.inspect(msg.run); // a viewer follows the presenter's run
      else if (msg.run === state.inspected && state.cursor === null) ui.inspect.showDetail(msg);
    },
    done(msg) {
      state.received.done += 1;
      if (!current(msg)) return;
      for (const [name, info] of Object.entries(msg.runs || {})) {
        const i = runIndex(name);
        if (i < 0) continue;
        ui.counters.finish(i, info);
        if (info.status !== state.statuses[name]) runStatus(i, info.status, info.iterations);
        if (!ui.rep.on) continue;
        ui.loss.push(i, ui.rep.medians(i, true));
        if (info.median_repeat) ui.surface.load(i, ui.rep.path(i, info.median_repeat)); // bold: the median repeat
      }
      if (ui.rep.on) ui.surface.relabel();
      if (msg.residual) ui.surface.setResidual(msg.residual);
      state.paused = false;
      ui.views.setStatus("done");
      if (state.replay) ui.inspect.show();
      ui.draw.request();
    },
    state(msg) {
      state.received.state += 1;
      if (msg.generation === state.generation) ui.actions.settle(); // a paused start's race exists from here on
      if (state.resuming && msg.generation === state.generation) { resumed(msg); return; }
      if (!ROOM && !!msg.paused !== state.asked) return; // the reply to an older request
      state.paused = !!msg.paused;
      const going = state.status === "running" || state.status === "paused";
      if (going || (ROOM && state.generation !== null && state.status !== "done")) ui.views.setStatus(state.paused ? "paused" : "running");
    },
    error(msg) {
      state.received.error += 1;
      state.lastError = msg;
      if (ui.map.error(msg)) return ui.notice.show(errorText(msg)); // the map's: no field, no start
      if (msg.field === "room" || msg.code === "not_presenting") { ui.classroom.ended(); ui.vote.live(false); } // the room is gone
      if (msg.code === "read_only") return; // a viewer never sends
      if (!ui.controls.serverError(msg)) ui.notice.show(errorText(msg)); // a form field's: said at the field
      if (state.awaitingStart && (!msg.field || String(msg.field).startsWith("config"))) {
        state.awaitingStart = false;
        state.primed = null;
        ui.views.setStatus(state.generation === null ? "idle" : state.status);
      }
    },
    presenting(msg) { if (msg.resumed) ui.actions.adopt(); ui.classroom.presenting(msg); ui.vote.live(true); },
    presentation_ended() { ui.classroom.ended(); ui.vote.live(false); },
    room_lost(msg) { ui.classroom.roomLost(msg); ui.vote.live(false); },
    // a viewer's messages
    room(msg) { state.room = msg; state.presenter = msg.presenter; ui.notice.hide("conn"); ui.viewer.show(); },
    presenter(msg) { state.presenter = msg.status; ui.viewer.show(); },
    reset() { ui.views.clear(); },
    room_closed() { state.ended = true; ui.socket.close(); ui.viewer.show(); ui.views.setStatus("idle"); },
  };

  /** The resumed race's `state`: running, paused, or primed and not started yet (idle). */
  function resumed(msg) {
    state.resuming = false;
    state.paused = state.asked = !!msg.paused;
    const primed = state.paused && !total();
    if (!primed) state.primed = null;
    if (state.status !== "done") ui.views.setStatus(primed ? "idle" : state.paused ? "paused" : "running");
    ui.inspect.send(); // the step panel follows this page's choice
  }

  function runStatus(i, status, iteration) {
    const name = state.runs[i].name;
    state.statuses[name] = status;
    if (status !== "running") announce(t("announce.run", { run: name, status: t(`status.${status}`), i: fmtInt(iteration) }));
    ui.counters.setStatus(i, status, iteration);
    ui.surface.setStatus(i, status, iteration);
    ui.loss.setStatus(i, status);
    if (status !== "running") ui.inspect.follow();
    if (status === "diverged" && !ui.loss.logY) {
      // a diverging loss dwarfs the others on a linear axis: switch to log so every curve stays visible
      $("loss-log").checked = true;
      ui.loss.setLog(true);
    }
  }

  /** A re-projection moves every point to the new plane; `xy` ends at the latest point (one per
   *  iteration, unless the server thinned its history: then only its complete recent half). */
  function moveToPlane(paths) {
    state.runs.forEach((r, i) => {
      const e = paths[r.name], kept = state.points[r.name];
      ui.rep.plane(i, e); // the other repeats' paths move too
      if (!e || !kept) return;
      const off = e.xy.length - state.iterations[r.name];
      if (off) { state.thinned = true; ui.timeline.setThinned(true); }
      for (const p of kept) {
        const k = p.iteration - 1 + off;
        p.xy = !off || k >= e.xy.length / 2 ? e.xy[k] || null : null;
        if (e.residual) p.residual = e.residual[k];
      }
      ui.surface.load(i, kept);
    });
    // the arrows of the latest details were on the old plane: hidden until the next detail
    for (const d of Object.values(state.details)) { delete d.at_xy; delete d.grad_xy; delete d.full_grad_xy; }
  }

  function thinPoints() {
    for (const [name, kept] of Object.entries(state.points)) state.points[name] = thin(kept, kept.length >> 1);
    state.thinned = true;
    ui.timeline.setThinned(true);
  }

  // a class vote's messages go to js/vote.js, whose handlers are named after them
  for (const type of ["asked", "question", "votes", "voted", "question_closed"]) handlers[type] = (msg) => ui.vote[type](msg);

  // during a replay the live socket's run messages are dropped
  const gated = {};
  for (const [type, fn] of Object.entries(handlers)) gated[type] = (msg) => { if (!(state.replay && RUN_MESSAGES.has(type))) fn(msg); };

  return { handlers, gated };
}

// The notice under the top bar: an error, the connection, or what a link asked for that was
// ignored. Its text is a function, so a change of language re-words it.

/** An error message in the page's language. */
export function errorText(msg) {
  // English: the server's own sentence is the most precise; other languages: translate by code.
  if (lang() === "en" && msg.message) return msg.message;
  const key = `err.${msg.code}`;
  const limit = typeof msg.limit === "number" ? msg.limit.toLocaleString(lang()) : "";
  const tr = t(key, { field: msg.field || "", limit });
  return tr !== key ? tr : msg.message || msg.code || "error";
}

export function createNotice() {
  let noticeText = null;
  function show(text, kind = "error") {
    noticeText = typeof text === "function" ? text : () => text;
    $("notice-text").textContent = noticeText();
    $("notice").dataset.kind = kind;
    $("notice").hidden = false;
  }
  function hide(kind) { if (!kind || $("notice").dataset.kind === kind) $("notice").hidden = true; }
  function relabel() { if (noticeText) $("notice-text").textContent = noticeText(); }
  $("notice-close").addEventListener("click", () => hide());
  return { show, hide, relabel };
}
