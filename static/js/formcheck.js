// The form's own checks. Each typed field is read against the server's bounds (page-facts), and
// a wrong one gets a message under it, in the page's words and with its range, and is marked
// (aria-invalid, a thick border, a ⚠). A typed value is never changed: it stays until fixed.

import { t, lang } from "./i18n.js";
import { $, FACTS, el } from "./common.js";

const B = FACTS.bounds;
// field id: [its label's key, its bounds' key (the config's name), its kind]; "?" = empty is off
const FIELDS = {
  "c-samples": ["ctl.samples", "n_samples", "int"], "c-noise": ["ctl.noise", "noise", "num"],
  "c-hidden": ["ctl.hidden", "hidden", "hidden"], "c-seed": ["ctl.seed", "seed", "int"],
  "c-target": ["ctl.target", "target_loss", "num?"], "c-patience": ["ctl.patience", "patience", "int?"],
  "c-lr": ["ctl.lr", "lr", "pos"], "c-epochs": ["ctl.epochs", "epochs", "int"],
  "c-classes": ["ctl.classes", "n_classes", "int"], "c-batch": ["ctl.batch", "batch_size", "int"],
};
/** The fields a user types into (the others are lists). */
export const TYPED = Object.keys(FIELDS).slice(0, 8);
const said = new Map(); // field id → its message, a function (a change of language re-words it)

/** Field `id`'s value as the config wants it ([] or widths for hidden, null = off), or
 *  undefined when it is wrong. */
export function parse(id) {
  const [, key, kind] = FIELDS[id];
  const input = $(id);
  const raw = input.value.trim();
  const [lo, hi] = B[key];
  if (kind === "hidden") {
    if (!raw) return [];
    const w = raw.split(/[\s,]+/).filter(Boolean).map(Number);
    return w.length <= B.hidden_layers[1] && w.every((n) => Number.isInteger(n) && n >= lo && n <= hi) ? w : undefined;
  }
  if (input.validity && input.validity.badInput) return undefined; // "1e" in a number box reads as ""
  if (!raw) return kind.endsWith("?") ? null : undefined;
  const v = Number(raw);
  if (!Number.isFinite(v) || v > hi || (kind === "pos" ? v <= lo : v < lo)) return undefined;
  return kind.startsWith("int") && !Number.isInteger(v) ? undefined : v;
}

/** What field `id` must hold, with the label the page shows and the range. */
export function rule(id) {
  const [label, key, kind] = FIELDS[id];
  const num = (v) => v.toLocaleString(lang());
  const vars = { label: t(label), min: num(B[key][0]), max: num(B[key][1]), n: B.hidden_layers[1] };
  const base = kind === "hidden" ? "hidden" : kind === "pos" ? "pos" : kind.startsWith("int") ? "int" : "num";
  return t(`form.${base}`, vars) + (kind.endsWith("?") ? t("form.off") : "");
}

/** The message `text()` under field `id` (null clears it); an "error" marks the field. */
export function say(id, text, kind = "error") {
  const input = $(id);
  let m = $(`${id}-msg`);
  if (!m && !text) return;
  if (!m) {
    m = Object.assign(el("span", "fmsg"), { id: `${id}-msg` });
    m.setAttribute("aria-live", "polite");
    input.closest(".field").append(m);
    const ids = input.getAttribute("aria-describedby");
    input.setAttribute("aria-describedby", ids ? `${ids} ${m.id}` : m.id);
  }
  if (text && kind === "error") input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
  m.dataset.kind = kind;
  m.hidden = !text;
  if (text) said.set(id, text); else said.delete(id);
  m.textContent = text ? text() : "";
}

/** Check field `id`: say what is wrong, or clear an error. True when it is right. */
export function check(id) {
  const ok = parse(id) !== undefined;
  if (!ok) say(id, () => rule(id));
  else if (isBad(id)) say(id, null);
  return ok;
}

export const isBad = (id) => $(id).getAttribute("aria-invalid") === "true";

/** Clear every message that is not an error (a hint has been read once the race starts). */
export function clearHints() { for (const id of said.keys()) if (!isBad(id)) say(id, null); }

/** A refusal of the server that names a field of the form, said at that field; false if none. */
export function serverError(msg) {
  if (!["out_of_range", "bad_type", "bad_value"].includes(msg.code) || !/^config\./.test(msg.field || "")) return false;
  // config.hidden.1 → hidden, config.runs.1.batch_size → batch_size (runs.lr is a run's own)
  const key = msg.field.split(".").slice(1).filter((p) => !/^\d+$/.test(p)).join(".").replace(/^runs\.batch_size$/, "batch_size");
  const id = Object.keys(FIELDS).find((f) => FIELDS[f][1] === key);
  if (!id) return false;
  say(id, () => rule(id));
  return true;
}

/** Every message again, in the page's language. */
export function relabel() { for (const [id, fn] of said) $(`${id}-msg`).textContent = fn(); }
