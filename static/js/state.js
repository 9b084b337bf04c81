// The page's state, one object that every module reads and writes (the tests read it through
// window.__dp), and the options the server wrote into the page.

import { readJson } from "./common.js";

export const initialConfig = readJson("initial-config"); // the link's config
export const page = readJson("page-options") || {};      // {notices, autoplay, room}
export const ROOM = page.room || null;                   // a viewer's room

export const state = {
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
  picked: false,        // the user chose the inspected run; else it follows a run still moving
  inspected: null, batchSurface: false, config: null, model: null, dataset: null, initialLoss: null,
  surfaceKind: null, plane: null, lrLimit: null,
  viewer: ROOM, room: null, ended: false, // a viewer: its room, ended by the presenter
  presenter: null, missing: false, // a viewer: the presenter's news (live, away, left); no such room
  resuming: false,      // the server resumed this room's race: its `state` says how it goes on
  replay: false,        // a saved run is on screen
  thinned: false,       // some history arrived thinned (a late joiner of a long run)
  received: { started: 0, surface: 0, frame: 0, detail: 0, done: 0, state: 0, error: 0, stale: 0 },
  lastError: null,
};

export const readOnly = () => ROOM || state.replay; // a viewer, or a saved run: nothing to send

/** Forget the runs on screen. */
export function clearRuns(runs = []) {
  Object.assign(state, { runs, counts: {}, statuses: {}, iterations: {}, details: {}, points: {}, predictions: {},
    cursor: null, surfaceKind: null, plane: null, lrLimit: null, thinned: false });
  for (const r of runs) {
    state.counts[r.name] = 0; state.statuses[r.name] = "running"; state.iterations[r.name] = 0; state.points[r.name] = [];
  }
}

/** Points received so far, over every run. */
export const total = () => Object.values(state.counts).reduce((a, b) => a + b, 0);
export const runIndex = (name) => state.runs.findIndex((r) => r.name === name);

/** A config as the server sees a start: speed changes go as `speed` messages, not new starts. */
export const configKey = (c) => JSON.stringify({ ...c, speed: 0 });

/** A history at half the memory: every entry from `keepFrom` on, every other one before it. */
export const thin = (list, keepFrom = list.length) => list.filter((_, k) => k >= keepFrom || k % 2 === 0);
