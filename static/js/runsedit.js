// The runs editor: a pencil beside each run card opens its name, batch size, learning rate and
// update rule in place (the form is in the page); "+ Add run" (up to six) and "Three defaults"
// sit in the race's head. It edits the runs of the next start (controls.getRuns/setRuns). A race
// that runs or is paused is never restarted by an edit: the change waits for the next Reset or
// new race, and a note says so.

import { t, tOr, lang, onLangChange } from "./i18n.js";
import { $, FACTS, el } from "./common.js";
import { state, readOnly } from "./state.js";

const MAX_RUNS = 6; // TrainConfig's bound (app/core/schemas.py)
// the schema's own ranges, as the form checks them (form_bounds() in the page's data block)
const MAX_BATCH = FACTS.bounds.batch_size[1], MAX_LR = FACTS.bounds.lr[1];
const keys = (runs) => runs.map((r) => JSON.stringify([r.name, r.batch_size, r.lr || null, r.update || "sgd"])).join();
const stop = (ev) => ev.stopPropagation(); // Space, → and R start, step and reset elsewhere, not here

export function createRunsEditor(ui) {
  const form = $("run-form"), add = $("runs-add"), defaults = $("runs-defaults"), host = $("runs-host"), note = $("runs-note");
  const [name, kind, size, lr, same, rule] = ["name", "kind", "size", "lr", "same", "rule"].map((k) => $(`rf-${k}`));
  const runs = () => ui.controls.getRuns();
  const cards = () => $("counters").querySelectorAll(".run-card");
  let editing = null; // {index, fresh} while the form is open (fresh: a run being added)
  let refocus = null; // the card whose pencil keeps the focus when the cards are drawn again

  /** The next start's runs differ from the race on screen, which goes on with its own. */
  const pending = () => !readOnly() && state.status !== "idle" && !!state.config && keys(runs()) !== keys(state.config.runs);
  const show = () => { size.parentElement.hidden = kind.value !== "mini"; lr.disabled = same.checked; };
  kind.addEventListener("change", show);
  same.addEventListener("change", show);

  function open(index, fresh) {
    const list = runs();
    let n = list.length + 1;
    while (list.some((r) => r.name === t("runs.new_name", { n }))) n++;
    const r = fresh ? { name: t("runs.new_name", { n }), batch_size: 16, lr: null, update: "sgd" } : list[index];
    editing = { index, fresh };
    refocus = null;
    name.value = tOr("run.", r.name); // a default run's name in the page's language
    name.dataset.raw = r.name;
    kind.value = r.batch_size === 1 ? "sgd" : r.batch_size === null ? "full" : "mini";
    size.value = r.batch_size > 1 ? r.batch_size : 16;
    same.checked = !r.lr;
    lr.value = r.lr || $("c-lr").value; // the main one, greyed out while it is used
    rule.value = r.update || "sgd";
    for (const i of [name, size, lr]) mark(i, "");
    $("rf-remove").hidden = fresh || list.length <= 1;
    form.setAttribute("aria-label", t("runs.edit", { name: name.value }));
    form.hidden = false;
    place();
    show();
    name.select();
    form.scrollIntoView({ block: "nearest" });
  }
  function close() {
    const at = editing, card = at && !at.fresh && !pending() && cards()[at.index];
    editing = null;
    form.hidden = true;
    host.append(form);
    if (at) (card ? card.querySelector(".run-edit") : add).focus();
    refocus = card ? at.index : null;
  }
  /** The form goes under the card it edits; a new run's, or any while a race differs, below all. */
  function place() {
    const to = (editing && !editing.fresh && !pending() && cards()[editing.index]) || host;
    if (form.parentElement === to) return;
    const focused = form.contains(document.activeElement) && document.activeElement;
    to.append(form);
    if (focused) focused.focus();
  }

  function mark(input, message) {
    $(`${input.id}-err`).textContent = message;
    for (const [k, v] of [["aria-invalid", "true"], ["aria-describedby", `${input.id}-err`]]) if (message) input.setAttribute(k, v); else input.removeAttribute(k);
    return !message;
  }

  /** The form as a run, or null with each bad field marked next to it. */
  function read() {
    const typed = name.value.trim(), raw = name.dataset.raw;
    const nm = typed === tOr("run.", raw) ? raw : typed; // "미니 배치" stays "Mini-batch"
    const taken = runs().some((r, i) => (editing.fresh || i !== editing.index) && (r.name === nm || tOr("run.", r.name) === nm));
    const b = Number(size.value), v = Number(lr.value);
    const ok = [
      mark(name, !/^(?:[^\p{C}\p{Z}]| )+$/u.test(nm) ? t("runs.err_name") : taken ? t("runs.err_dup", { name: nm }) : ""),
      mark(size, kind.value === "mini" && !(Number.isInteger(b) && b >= 2 && b <= MAX_BATCH) ? t("runs.err_batch", { max: MAX_BATCH.toLocaleString(lang()) }) : ""),
      mark(lr, !same.checked && !(lr.value.trim() && v > 0 && v <= MAX_LR) ? t("runs.err_lr", { max: MAX_LR }) : ""),
    ];
    if (ok.includes(false)) { form.querySelector("[aria-invalid]").focus(); return null; }
    return { name: nm, batch_size: kind.value === "sgd" ? 1 : kind.value === "full" ? null : b, lr: same.checked ? null : v, update: rule.value };
  }

  /** `list` is the next start's runs: at once when no race is going, else at the next one. */
  function commit(list) {
    ui.controls.setRuns(list);
    close();
    if (state.status !== "running" && state.status !== "paused") ui.actions.configChanged();
    refresh();
  }

  $("rf-apply").addEventListener("click", () => {
    const run = read(), list = runs();
    if (run) { list.splice(editing.index, editing.fresh ? 0 : 1, run); commit(list); }
  });
  $("rf-cancel").addEventListener("click", close);
  $("rf-remove").addEventListener("click", () => { const list = runs(); list.splice(editing.index, 1); commit(list); });
  form.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") close();
    else if (ev.key === "Enter" && ev.target.tagName === "INPUT") { ev.preventDefault(); $("rf-apply").click(); }
    stop(ev);
  });
  add.addEventListener("click", () => open(runs().length, true));
  defaults.addEventListener("click", () => commit(FACTS.default_runs));
  for (const b of [add, defaults, note]) b.addEventListener("keydown", stop);

  /** A run card gets its pencil (counters.js calls this for each card it draws). */
  function decorate(card, _run, i) {
    const pen = el("button", "btn btn-ghost run-edit", "✎");
    pen.type = "button";
    pen.addEventListener("click", () => open(i, false));
    pen.addEventListener("keydown", stop);
    card.append(pen);
    if (i === refocus && document.activeElement === document.body) { pen.focus(); refocus = null; } // an applied edit redrew the cards
    refresh();
  }
  const label = (b, r) => { b.setAttribute("aria-label", t("runs.edit", { name: tOr("run.", r) })); b.title = b.getAttribute("aria-label"); };

  /** The buttons, the waiting note and the form's place, after any change of runs or race. */
  function refresh() {
    const off = readOnly(), wait = pending(), list = runs();
    add.disabled = off || list.length >= MAX_RUNS;
    defaults.disabled = off || keys(list) === keys(FACTS.default_runs);
    for (const p of $("counters").querySelectorAll(".run-edit")) { p.hidden = off || wait; label(p, p.previousSibling.dataset.run); }
    note.hidden = !wait;
    note.textContent = wait ? `${t("runs.pending")} ` : "";
    if (wait) list.forEach((r, i) => { const b = el("button", "btn btn-small", tOr("run.", r.name)); label(b, r.name); b.onclick = () => open(i, false); note.append(b, " "); });
    if (off && editing) close();
    place();
  }

  onLangChange(refresh);
  return { decorate, refresh };
}
