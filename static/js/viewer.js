// A viewer of a room (/room/CODE, read-only): "Watching CODE live" instead of the controls, and
// what the socket does when the room is missing or full.

import { t } from "./i18n.js";
import { $ } from "./common.js";
import { state, ROOM } from "./state.js";

export function createViewer(ui) {
  function show() {
    if (!ROOM) return;
    const w = $("watching");
    w.hidden = false;
    w.classList.toggle("ended", state.ended);
    w.textContent = state.ended ? t("present.ended") : t("room.watching", { code: ROOM });
  }

  /** The socket's reconnect delay after a drop (ms), or null to stay closed once the room ended. */
  function retry(ev, ms) {
    if (state.ended) return null;
    if (ev.code === 4404 || ev.code === 4429) { // no such room, or it is full: say why, ask again slowly
      const s = ev.code === 4404 ? 5 : 10;
      ui.notice.show(() => t("room.retry", { reason: ev.reason || `${ROOM}: ${ev.code}`, s }), "conn");
      return s * 1000;
    }
    ui.notice.show(() => t("err.connection"), "conn"); // 1001 (a restart) or any other drop
    return ms;
  }

  return { show, retry };
}
