// Share links and presenter rooms. One dialog shows a link and its QR code, large enough for a
// projector: the setup's share link, or the room's viewer address with its code and "N watching".
// The page's own URL follows the config on screen (a reload keeps it). The room's token lives in
// sessionStorage only (never in a URL), so a reload or a reconnect presents to the same room.
// A room lost without the teacher ending it (`room_lost`: e.g. Redis went away) turns the button
// into a warning; its dialog says why and makes a new room when the teacher chooses.

import { t, lang, onLangChange } from "./i18n.js";
import { $, FACTS, post, download } from "./common.js";
import { state, page, ROOM } from "./state.js";
import { lessonRef, lessonQuery } from "./lessons.js";

const KEY = "dp.room";
// The server listens only on this computer (a loopback host): no phone can open its links, so
// the dialog says so and what to do, and shows no QR code.
const LOCAL = FACTS.local_only;
const link = async (config, autoplay) => (await post("/api/link", { config, autoplay, lang: lang(), lesson: lessonRef() })).json();

export function createClassroom({ send, getConfig, notify, dismiss }) {
  const dlg = $("qr-dialog"), qr = $("dlg-qr"), url = $("dlg-url"), presentBtn = $("btn-present");
  let mode = "share";
  let room = null;     // {code, token, viewer_url}
  let viewers = null;  // null until the server confirms `presenting`
  let lost = null;     // the `room_lost` message, until the teacher makes a new room
  let seq = 0;
  let after = null;    // what to do once a present is answered (unless the race was resumed)
  try { room = JSON.parse(sessionStorage.getItem(KEY)); } catch (_) { room = null; }

  function keep(r) {
    room = r;
    try { if (r) sessionStorage.setItem(KEY, JSON.stringify(r)); else sessionStorage.removeItem(KEY); } catch (_) { /* ignore */ }
  }
  const msg = (text) => { $("dlg-msg").textContent = text; };
  function lostText() {
    const key = `present.lost.${lost.code}`, why = t(key);
    return t("present.lost", { code: lost.room, reason: why === key ? lost.reason : why });
  }

  /** The page's URL follows the config on screen: a reload restores it. */
  async function syncUrl(config) {
    const mine = ++seq;
    try {
      const body = await link(config, false);
      if (mine === seq) history.replaceState(history.state, "", `${location.pathname}?${body.query}${lessonQuery()}`);
    } catch (_) { /* the page works without it */ }
  }

  function render() {
    const p = mode === "present", gone = p && !!lost;
    $("dlg-title").textContent = t(gone ? "present.lost_title" : p ? "present.title" : "share.title");
    $("dlg-hint").textContent = gone ? lostText() : p ? t(LOCAL ? "present.hint_local" : "present.hint") : "";
    $("dlg-local").hidden = !LOCAL || gone;
    $("dlg-local").textContent = LOCAL ? t("share.local_only") : "";
    $("dlg-room").hidden = !p || gone;
    $("dlg-code").textContent = room ? room.code : "";
    $("dlg-watching").hidden = !p || gone;
    $("dlg-watching").textContent = viewers === null ? "…" : t("present.watching", { n: viewers });
    $("dlg-end").hidden = !p || gone;
    $("dlg-new").hidden = !gone;
    url.parentElement.hidden = gone;
    if (gone) qr.hidden = true;
    $("dlg-autoplay-f").hidden = p;
    dlg.classList.toggle("presenting", p);
    dlg.classList.toggle("lost", gone);
    const live = room && viewers !== null;
    presentBtn.textContent = lost ? t("present.lost_badge") : live ? t("present.live", { code: room.code, n: viewers }) : t("btn.present");
    presentBtn.title = lost ? lostText() : live ? `${t("present.title")}: ${room.code} · ${t("present.watching", { n: viewers })}` : "";
    presentBtn.classList.toggle("live", !!live && !lost);
    presentBtn.classList.toggle("lost", !!lost);
  }
  function setLink(text, qrUrl) {
    url.value = text;
    qr.hidden = !qrUrl || LOCAL;
    if (qrUrl && !LOCAL) qr.src = qrUrl;
  }
  function show(m) {
    mode = m;
    msg("");
    render();
    if (!dlg.open) dlg.showModal();
  }

  async function share() {
    show("share");
    setLink("", null);
    const config = getConfig();
    if (!config) return;
    try {
      const body = await link(config, $("dlg-autoplay").checked);
      if (mode === "share") { setLink(body.url, body.qr_svg_url); if (body.points_left_out) msg(t("cd.link")); }
    } catch (err) { msg(t("share.failed", { reason: err.message })); }
  }

  /** A new room, presented to at once; a refusal goes to `report`. */
  async function makeRoom(report) {
    try { keep(await (await post("/api/rooms")).json()); } catch (err) { report(t("present.refused", { reason: err.message })); return false; }
    lost = null;
    viewers = null;
    dismiss("room_lost");
    send({ type: "present", room: room.code, token: room.token });
    return true;
  }
  function showRoom() {
    show("present");
    if (!lost) setLink(room.viewer_url, `/api/qr.svg?data=${encodeURIComponent(room.viewer_url)}`);
  }
  // While lost, the button only opens the dialog: it says why, and offers a new room.
  async function present() {
    if (!lost && !room && !(await makeRoom(notify))) return;
    showRoom();
  }
  async function newRoom() {
    if (await makeRoom(msg)) showRoom();
  }

  /** On boot and after every reconnect: present to the stored room again; `then` runs once the
   *  server answers, unless it resumed the room's race. False when there is no room. */
  function represent(then) {
    if (!room) return false;
    after = then || null;
    send({ type: "present", room: room.code, token: room.token });
    return true;
  }
  function answered(resumed) {
    const then = after;
    after = null;
    if (then && !resumed) then();
  }

  function presenting(m) {
    viewers = m.viewers;
    render();
    answered(m.resumed);
  }
  function ended() {
    answered(false);
    keep(null);
    viewers = null;
    lost = null;
    if (dlg.open && mode === "present") dlg.close();
    render();
  }
  /** The room went away without the teacher ending it: say so until a new room is made. */
  function roomLost(m) {
    if (!room || m.room !== room.code) return; // an older room's news
    keep(null); // its code would only answer "no room" now, after a reload too
    viewers = null;
    lost = m;
    if (!(dlg.open && mode === "present")) notify(lostText, "room_lost");
    render();
  }

  async function copy() {
    try {
      await navigator.clipboard.writeText(url.value);
      msg(t("share.copied"));
    } catch (_) {
      // no clipboard API (e.g. plain http on a LAN address): select the text for Ctrl+C
      url.focus();
      url.select();
      msg(document.execCommand && document.execCommand("copy") ? t("share.copied") : t("share.select"));
    }
  }

  $("btn-share").addEventListener("click", share);
  presentBtn.addEventListener("click", present);
  $("dlg-close").addEventListener("click", () => dlg.close());
  $("dlg-copy").addEventListener("click", copy);
  $("dlg-autoplay").addEventListener("change", share);
  $("dlg-end").addEventListener("click", () => send({ type: "end_presentation" }));
  $("dlg-new").addEventListener("click", newRoom);
  url.addEventListener("focus", () => url.select());
  dlg.addEventListener("click", (ev) => { if (ev.target === dlg) dlg.close(); }); // a click on the backdrop
  onLangChange(render);
  render();

  return { syncUrl, represent, presenting, ended, roomLost, get room() { return room; } };
}

// Save / load: the comparison on screen as CSV, JSON or an HTML report (the server recomputes it
// from the config and cuts each run where the screen was), and "Load a saved run": a JSON export,
// checked by the server, handed to replay.js to replay without retraining. The report is written
// in the page's language; a file that is not a saved run gets one plain sentence, never a parser's.

export function createFiles({ getRequest, onLoad, notify }) {
  const menu = $("files"), input = $("load-file");
  const busy = (on) => menu.classList.toggle("busy", on);

  async function save(fmt) {
    const request = getRequest();
    if (!request) return;
    menu.open = false;
    busy(true);
    try {
      const res = await post(`/api/export/${fmt}`, { ...request, lang: lang() });
      const name = /filename="([^"]+)"/.exec(res.headers.get("Content-Disposition") || "");
      const href = URL.createObjectURL(await res.blob());
      download(href, name ? name[1] : `descent.${fmt}`);
      setTimeout(() => URL.revokeObjectURL(href), 60000);
    } catch (err) {
      notify(t("files.failed", { reason: err.message }));
    } finally {
      busy(false);
    }
  }

  async function load() {
    const file = input.files && input.files[0];
    input.value = "";
    menu.open = false;
    if (!file) return;
    const mb = FACTS.max_upload_mb;
    if (file.size > mb * 1048576) { notify(() => t("files.too_big", { mb })); return; }
    let data;
    try {
      const bytes = await file.arrayBuffer();
      const res = await fetch("/api/export/check", { method: "POST", headers: { "Content-Type": "application/json" }, body: bytes });
      // 422: not an export (the server's reason names a field: for developers, not for the class)
      if (res.status === 422 || res.status === 413) { notify(() => t(res.status === 413 ? "files.too_big" : "files.bad", { mb })); return; }
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      data = JSON.parse(new TextDecoder().decode(bytes));
    } catch (err) {
      notify(() => t("files.unchecked"));
      return;
    }
    onLoad(data);
  }

  for (const b of menu.querySelectorAll("[data-export]")) b.addEventListener("click", () => save(b.dataset.export));
  input.addEventListener("change", load);
  document.addEventListener("click", (ev) => { if (menu.open && !menu.contains(ev.target)) menu.open = false; });
}

// A viewer of a room (/room/CODE, read-only): a line saying what the presenter is doing instead of
// the controls ("Watching CODE live", reconnecting, has left, ended), and what the socket does
// when the room is missing or full. A code with no room says so and offers a field for another.

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
