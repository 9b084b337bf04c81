// Save / load: the comparison on screen as CSV, JSON or an HTML report (the server recomputes it
// from the config and cuts each run where the screen was), and "Load a saved run": a JSON export,
// checked by the server, handed to replay.js to replay without retraining.

import { t } from "./i18n.js";
import { $, post, download } from "./common.js";

export function createFiles({ getRequest, onLoad, notify }) {
  const menu = $("files"), input = $("load-file");
  const busy = (on) => menu.classList.toggle("busy", on);

  async function save(fmt) {
    const request = getRequest();
    if (!request) return;
    menu.open = false;
    busy(true);
    try {
      const res = await post(`/api/export/${fmt}`, request);
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
    try {
      const bytes = await file.arrayBuffer();
      await post("/api/export/check", bytes, true);
      onLoad(JSON.parse(new TextDecoder().decode(bytes)));
    } catch (err) {
      notify(t("files.bad", { reason: err.message }));
    }
  }

  for (const b of menu.querySelectorAll("[data-export]")) b.addEventListener("click", () => save(b.dataset.export));
  input.addEventListener("change", load);
  document.addEventListener("click", (ev) => { if (menu.open && !menu.contains(ev.target)) menu.open = false; });
}
