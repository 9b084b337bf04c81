// "Your own data": the data view becomes an editor (click to add a point of the chosen class,
// keys 1–5 pick it; click a point, or any point with the eraser, to remove it; Undo, Clear), a
// CSV can be pasted or uploaded, and "Edit these points" copies a built-in set. Points show at
// once; the race restarts on them after a short idle. Points are kept as typed (raw): the server
// standardizes them.

import { t } from "./i18n.js";
import { $, CLASS_COLORS } from "./common.js";
import { state, readOnly } from "./state.js";

const IDLE_MS = 700;
const MAX_ROWS = 2000; // as the server's bound (engine/datasets.py)

export function createCustomData(ui) {
  let X = [], y = [], undo = [], cls = 0, erase = false, timer = null, err = "";
  const task = $("cd-task"), std = $("cd-std");
  const on = () => $("c-dataset").value === "custom" && !readOnly();
  const reg = () => task.value === "regression";

  // the class palette: each class its label (as in the legend and a CSV) and its colour
  const pal = [...$("cd-pal").children];
  pal.forEach((b, k) => { b.style.borderColor = CLASS_COLORS[k]; b.onclick = () => pick(k); });
  function pick(k) { cls = k; erase = false; paint(); }
  function paint() {
    pal.forEach((b, k) => { b.setAttribute("aria-pressed", k === cls && !erase); b.hidden = reg() || (k > 1 && task.value === "binary"); });
    $("cd-erase").setAttribute("aria-pressed", erase);
    $("cd").hidden = !on();
    $("cd-copy").hidden = on() || readOnly() || !state.config || !!state.config.data;
    $("cd-note").textContent = err || t("cd.n", { n: X.length });
  }

  /** The config's `data`, or null while there is nothing to train on. */
  const data = () => (X.length ? { task: task.value, X, y, standardize: std.checked } : null); // never changed in place

  function show() {
    err = "";
    paint();
    if (on()) ui.data.setDataset({ name: "custom", task: task.value, n_classes: reg() ? 1 : Math.max(1, ...y) + 1, X, y }, true), ui.draw.request();
  }
  function edited(nx, ny) {
    if (nx) { undo = [...undo.slice(-99), [X, y]]; X = nx; y = ny; }
    ui.controls.taskChanged();
    show();
    clearTimeout(timer);
    timer = setTimeout(ui.actions.configChanged, IDLE_MS);
  }

  /** Points of a config (a link, a file, the server's echo: nothing to do if they are ours). */
  function load(d) {
    if (!d || JSON.stringify(d) === JSON.stringify(data())) return;
    task.value = d.task;
    std.checked = d.standardize;
    if (X.length) undo.push([X, y]);
    ({ X, y } = d);
    show();
  }

  // ---- clicks: plotly's axes turn pixels into the data's units, three significant digits of
  // the view (a click is no finer, and a share link stays short)
  $("data-plot").addEventListener("click", (ev) => {
    const L = ui.data.layers.lower, f = L._fullLayout, r = L.getBoundingClientRect();
    if (!on() || !f || !f.xaxis) return;
    const xa = f.xaxis, ya = f.yaxis, px = ev.clientX - r.left - xa._offset, py = ev.clientY - r.top - ya._offset;
    if (px < 0 || py < 0 || px > xa._length || py > ya._length) return;
    const at = (a, p) => { const s = 10 ** (Math.floor(Math.log10(a.range[1] - a.range[0])) - 2); return +(Math.round(a.p2d(p) / s) * s).toPrecision(12); };
    const hit = X.findIndex((row, i) => Math.hypot(xa.d2p(row[0]) - px, ya.d2p(reg() ? y[i] : row[1]) - py) < 9);
    if (hit >= 0) edited(X.filter((_, i) => i !== hit), y.filter((_, i) => i !== hit));
    else if (!erase && X.length < MAX_ROWS) edited([...X, reg() ? [at(xa, px)] : [at(xa, px), at(ya, py)]], [...y, reg() ? at(ya, py) : cls]);
  });
  document.addEventListener("keydown", (ev) => {
    const k = "12345".indexOf(ev.key);
    if (k >= 0 && on() && !pal[k].hidden && !/INPUT|SELECT|TEXTAREA/.test(ev.target.tagName)) pick(k);
  });

  $("cd-erase").onclick = () => { erase = !erase; paint(); };
  $("cd-undo").onclick = () => { if (undo.length) { [X, y] = undo.pop(); edited(); } };
  $("cd-clear").onclick = () => X.length && edited([], []);
  task.onchange = () => edited([], []);
  std.onchange = () => edited();
  $("cd-copy").onclick = () => {
    load({ ...state.dataset, standardize: false });
    $("c-dataset").value = "custom";
    $("c-dataset").dispatchEvent(new Event("change")); // its losses, the editor, a new race
  };

  // ---- CSV (x,y · x1,x2,label · x,label): the server reads it (app/core/csvdata.py); bad rows
  // come back as codes and line numbers, said here in the page's language
  async function use(body) {
    try {
      const r = await fetch(`/api/data/csv?task=${task.value}`, { method: "POST", body }), b = await r.json();
      if (r.ok) { task.value = b.task; return edited(b.X, b.y); }
      err = (b.problems || []).map((p) => t(`cd.e_${p.code}`, p)).join("; ") || b.detail;
    } catch (e) { err = e.message; }
    err = t("cd.bad", { e: err });
    paint();
  }
  $("cd-use").onclick = () => use($("cd-text").value);
  $("cd-file").onchange = (ev) => { if (ev.target.files[0]) use(ev.target.files[0]); ev.target.value = ""; };

  pick(0);
  /** After a `started`: an older race's data does not replace the points being edited. */
  const sync = () => (on() && JSON.stringify(state.config?.data) !== JSON.stringify(data()) ? show() : paint());
  return { data, load, show, sync, kind: () => task.value };
}
