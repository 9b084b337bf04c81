// Replay a saved run (a JSON export the server has checked) through the same dispatch table as
// a live race, a few hundred points per frame; the controls are locked until Reset.

import { state } from "./state.js";

const REPLAY_CHUNK = 250; // points per run per replayed frame

export function createReplay(ui) {
  let token = 0; // a newer replay, or Reset, ends an older one

  async function replay(file) {
    if (state.status === "running" || state.status === "paused") ui.actions.command({ type: "stop" });
    const mine = ++token;
    ui.views.clear();
    state.replay = true;
    document.body.classList.add("replay");
    ui.controls.setConfig(file.config);
    ui.controls.setLocked(true);
    ui.views.setStatus("running");
    const { handlers } = ui.dispatch;
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
      if (mine !== token) return;
    }
    handlers.done(file.done);
  }

  /** Back to the live page (Reset): the replay stops and the controls unlock. */
  function leave() {
    state.replay = false;
    token += 1;
    document.body.classList.remove("replay");
    ui.controls.setLocked(false);
  }

  return { replay, leave };
}
