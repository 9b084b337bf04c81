// The timeline: a scrubber over iterations 0…max. Dragging it back moves every view to iteration
// k (inspect.js tells the widgets); dragging it to the end or pressing Live returns to the live race.

import { t } from "./i18n.js";
import { $, fmtInt } from "./common.js";

export function createTimeline({ onScrub }) {
  const box = $("timeline"), range = $("tl-range"), out = $("tl-out"), live = $("tl-live"), note = $("tl-note");
  let max = 0;
  let cursor = null; // null = live
  let thinned = false;

  function render() {
    box.classList.toggle("off", max < 1);
    range.max = String(max);
    if (cursor === null) range.value = String(max);
    out.textContent = cursor === null ? t("tl.live_at", { i: fmtInt(max) }) : t("tl.at", { i: fmtInt(cursor), n: fmtInt(max) });
    live.disabled = cursor === null;
    box.classList.toggle("scrubbed", cursor !== null);
    note.textContent = thinned ? t("tl.thinned") : "";
  }

  function set(k) {
    if (k === cursor) return;
    cursor = k;
    render();
    onScrub(k);
  }
  range.addEventListener("input", () => { const k = Number(range.value); set(k >= max ? null : k); });
  live.addEventListener("click", () => set(null));

  function setMax(m) { if (m !== max) { max = m; render(); } }
  function setThinned(on) { thinned = on; render(); }
  function reset() { max = 0; cursor = null; thinned = false; render(); }

  render();
  return { set, setMax, setThinned, reset, relabel: render, get cursor() { return cursor; } };
}
