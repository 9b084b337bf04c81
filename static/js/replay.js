// Replay a saved run (a JSON export the server has checked) through the same dispatch table as
// a live race, a few hundred points per frame; the controls are locked until Reset. A file has no
// step details: the server recomputes the shown iteration (POST /api/runs/detail) for the step
// panel and the model in the data view, one request at a time, the latest iteration wins.

import { t } from "./i18n.js";
import { $, post, runColor, fmtInt } from "./common.js";
import { state, runIndex } from "./state.js";

const REPLAY_CHUNK = 250; // points per run per replayed frame

export function createReplay(ui) {
  let token = 0; // a newer replay, or Reset, ends an older one
  const details = new Map(); // "run iteration" -> detail (null: none to show), for scrubbing back
  let wanted = null;         // the point the step panel should open up: {name, p}
  let asking = false;

  async function replay(file) {
    if (state.status === "running" || state.status === "paused") ui.actions.command({ type: "stop" });
    const mine = ++token;
    details.clear();
    wanted = null;
    ui.views.clear();
    state.replay = true;
    document.body.classList.add("replay");
    ui.map.load(file.lr_map); // the file's map, if it has one
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
    ui.map.load(null);
    token += 1;
    details.clear();
    wanted = null;
    document.body.classList.remove("replay");
    ui.controls.setLocked(false);
  }

  /** Open up the iteration of stored point `p` of run `name` (what inspect.js shows) once the
   *  server has recomputed it; kept as it is if the numbers differ from the file's. */
  function detail(name, p) {
    wanted = p && p.iteration > 0 ? { name, p } : null;
    if (wanted) ask();
  }

  const key = (w) => `${w.name} ${w.p.iteration}`;

  async function ask() {
    if (asking) return;
    asking = true;
    while (wanted && !details.has(key(wanted))) {
      const w = wanted, mine = token;
      let d = null;
      try {
        const res = await post("/api/runs/detail", { config: state.config, run: w.name, iteration: w.p.iteration });
        d = await res.json();
      } catch (_) { /* the point's own numbers stay on show */ }
      const same = d && d.iteration === w.p.iteration && JSON.stringify(d.params) === JSON.stringify(w.p.params);
      if (mine === token) details.set(key(w), same ? d : null); // else: another file since
    }
    asking = false;
    if (wanted && details.get(key(wanted))) show(wanted, details.get(key(wanted)));
  }

  function show({ name, p }, d) {
    if (!state.replay || state.inspected !== name) return;
    ui.step.set(d);
    if (!(state.model && state.model.line && p.line)) { // a file's line w·x + b is drawn as saved
      const i = runIndex(name);
      if (d.prediction) ui.data.setPrediction(d.prediction, name, i >= 0 ? runColor(state.runs[i]) : undefined);
      $("data-at").textContent = t("data.at", { i: fmtInt(d.iteration) });
    }
    ui.draw.request();
  }

  return { replay, leave, detail };
}
