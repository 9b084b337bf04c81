// The notice under the top bar: an error, the connection, or what a link asked for that was
// ignored. Its text is a function, so a change of language re-words it.

import { t, lang } from "./i18n.js";
import { $ } from "./common.js";

/** An error message in the page's language. */
export function errorText(msg) {
  // English: the server's own sentence is the most precise; other languages: translate by code.
  if (lang() === "en" && msg.message) return msg.message;
  const key = `err.${msg.code}`;
  const limit = typeof msg.limit === "number" ? msg.limit.toLocaleString(lang()) : "";
  const tr = t(key, { field: msg.field || "", limit });
  return tr !== key ? tr : msg.message || msg.code || "error";
}

export function createNotice() {
  let noticeText = null;
  function show(text, kind = "error") {
    noticeText = typeof text === "function" ? text : () => text;
    $("notice-text").textContent = noticeText();
    $("notice").dataset.kind = kind;
    $("notice").hidden = false;
  }
  function hide(kind) { if (!kind || $("notice").dataset.kind === kind) $("notice").hidden = true; }
  function relabel() { if (noticeText) $("notice-text").textContent = noticeText(); }
  $("notice-close").addEventListener("click", () => hide());
  return { show, hide, relabel };
}
