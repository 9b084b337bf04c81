// A polite live region for screen readers: the race's status changes (started, paused,
// finished) and each run's end (completed, diverged...), never every frame. Changes that arrive
// together (a `done` ends every run at once) are read as one sentence.

import { $ } from "./common.js";

let queued = [];

export function announce(text) {
  if (!queued.length) setTimeout(flush, 150);
  queued.push(text);
}

function flush() {
  $("announce").textContent = queued.join(" ");
  queued = [];
}
