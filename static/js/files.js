// Save / load: the comparison on screen as CSV, JSON or an HTML report (the server recomputes it
// from the config and cuts each run where the screen was), and "Load a saved run": a JSON export,
// checked by the server, handed to replay.js to replay without retraining. The report is written
// in the page's language; a file that is not a saved run gets one plain sentence, never a parser's.

import { t, lang } from "./i18n.js";
import { $, post, download, FACTS } from "./common.js";

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
