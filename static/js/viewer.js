// A viewer of a room (/room/CODE, read-only): a line saying what the presenter is doing instead of
// the controls ("Watching CODE live", reconnecting, has left, ended), and what the socket does
// when the room is missing or full. A code with no room says so and offers a field for another.

import { t } from "./i18n.js";
import { $ } from "./common.js";
import { state, page, ROOM } from "./state.js";

export function createViewer(ui) {
  const form = $("room-go");
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const code = $("room-go-code").value.trim().toUpperCase();
    if (code) location.assign(`/room/${encodeURIComponent(code)}`);
  });

  function show() {
    if (!ROOM) return;
    const w = $("watching"), who = state.presenter, live = !state.ended && !state.missing && who !== "away" && who !== "left";
    w.hidden = false;
    w.classList.toggle("ended", !live);
    w.classList.toggle("away", !live && !state.ended); // a longer text: a smaller size
    w.textContent = t(state.missing ? "room.missing" : state.ended ? "present.ended" : live ? "room.watching" : `room.${who}`, { code: ROOM });
    if (form.hidden === !!state.missing) {
      form.hidden = !state.missing;
      if (state.missing) $("room-go-code").focus();
    }
  }

  /** A code with no room: say so, ask for another, and stop asking the server. */
  function missing() {
    state.missing = true;
    ui.notice.hide("conn");
    $("surface-empty").dataset.i18n = "room.none";
    $("surface-empty").textContent = t("room.none");
    show();
  }

  /** The socket's reconnect delay after a drop (ms), or null to stay closed. */
  function retry(ev, ms) {
    if (state.ended) return null;
    if (ev.code === 4404) { missing(); return null; } // no such room: retrying would not help
    if (ev.code === 4429) { // the room is full: say why, ask again slowly
      ui.notice.show(() => t("room.retry", { reason: ev.reason || `${ROOM}: ${ev.code}`, s: 10 }), "conn");
      return 10000;
    }
    ui.notice.show(() => t("err.connection"), "conn"); // 1001 (a restart) or any other drop
    return ms;
  }

  /** The page's start: a room the server already said is missing needs no socket. */
  function open() {
    if (page.room_missing) missing();
    else ui.socket.open();
  }

  return { show, retry, open };
}
