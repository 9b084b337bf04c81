// Share links and presenter rooms. One dialog shows a link and its QR code, large enough for a
// projector: the setup's share link, or the room's viewer address with its code and "N watching".
// The page's own URL follows the config on screen (a reload keeps it). The room's token lives in
// sessionStorage only (never in a URL), so a reload or a reconnect presents to the same room.
// A room lost without the teacher ending it (`room_lost`: e.g. Redis went away) turns the button
// into a warning; its dialog says why and makes a new room when the teacher chooses.

import { t, lang, onLangChange } from "./i18n.js";
import { $, FACTS, post } from "./common.js";
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
