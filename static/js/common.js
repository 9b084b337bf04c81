// Shared helpers: the server's facts (run colours), number formatting (formatting only, never
// maths) and the plots' one modebar button.

import { t } from "./i18n.js";

export const $ = (id) => document.getElementById(id);

/** Save `href` (a data: or blob: URL) as the file `name`. */
export function download(href, name) {
  const a = Object.assign(document.createElement("a"), { href, download: name });
  document.body.append(a);
  a.click();
  a.remove();
}

/** The JSON data block `id` of the page (null if absent or unreadable). */
export const readJson = (id) => { try { return JSON.parse($(id).textContent); } catch (_) { return null; } };
/** What the server says once for every page (its "page-facts" data block): run colours, default runs. */
export const FACTS = readJson("page-facts");

/** Okabe-Ito, colour-blind safe: one colour per run, the same in every view (app/core/colors.py). */
export const RUN_COLORS = FACTS.run_colors;
export const RUN_DASHES = FACTS.run_dashes;   // a run without colour: its dash pattern ...
export const RUN_SYMBOLS = FACTS.run_symbols; // ... and its marker symbol

/** Class colours for the data view (kept apart from the run colours). */
export const CLASS_COLORS = ["#3B4CC0", "#B40426", "#2E7D32", "#6A3D9A", "#8C6D1F"];
export const CLASS_SYMBOLS = ["circle", "diamond", "square", "triangle-up", "cross"];

export const INK = "#1f2933";
export const MUTED = "#52606d";
export const GRID = "#e4e7eb";
export const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans KR", "Malgun Gothic", "Apple SD Gothic Neo", sans-serif';

const pick = (list, run) => {
  const i = Number.isInteger(run.color) ? run.color : run.index || 0;
  return list[((i % list.length) + list.length) % list.length];
};
export const runColor = (run) => pick(RUN_COLORS, run);
// A run told apart without colour: its dash on the loss chart and its marker on the surface,
// whose glyph also marks its card and its end label (the legend).
export const runDash = (run) => pick(RUN_DASHES, run);
export const runSymbol = (run) => pick(RUN_SYMBOLS, run);
const GLYPHS = { circle: "●", square: "■", diamond: "◆", "triangle-up": "▲", cross: "✚", star: "★" };
export const runGlyph = (run) => GLYPHS[runSymbol(run)] || "●";

const MINUS = "\u2212";

/** A number with `sig` significant digits (4 by default); "—" for null/NaN; U+2212 minus. */
export function fmt(v, sig = 4) {
  if (!isFiniteNum(v)) return "—";
  if (v === 0) return "0";
  const a = Math.abs(v);
  let s;
  if (a >= 1e5 || a < 1e-4) {
    s = v.toExponential(sig - 1).replace("e+", "e");
  } else {
    s = v.toPrecision(sig);
    if (s.includes("e")) s = Number(s).toString();
  }
  return s.replace("-", MINUS);
}

/** Like fmt, wrapped in parentheses when negative (for "w − lr × (−0.83)"). */
export function fmtP(v, sig = 4) {
  const s = fmt(v, sig);
  return typeof v === "number" && v < 0 ? `(${s})` : s;
}

const INT = new Intl.NumberFormat("en-US"); // made once: toLocaleString builds one per call
/** Integers with thousands separators: 2,417. */
export function fmtInt(v) {
  if (!isFiniteNum(v)) return "—";
  return INT.format(Math.round(v));
}

/** Fixed decimals (for angles, percentages). */
export function fmtFixed(v, digits = 1) {
  if (!isFiniteNum(v)) return "—";
  return v.toFixed(digits).replace("-", MINUS);
}

/** Create an element with a class and optional text (textContent, never innerHTML). */
export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = text;
  return e;
}

export function isFiniteNum(v) {
  return typeof v === "number" && Number.isFinite(v);
}

/** Font size for the plots, larger in the projector's large-text mode. */
export function plotFont(delta = 0) {
  const large = document.body.classList.contains("large");
  return (large ? 17 : 13) + delta;
}

/** Index of the last entry of the ascending array `arr` that is <= v (−1 if none). */
export function lastLE(arr, v, key = (x) => x) {
  let lo = 0, hi = arr.length - 1, best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (key(arr[mid]) <= v) { best = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return best;
}

/** The layout every plot shares, with `o` on top. */
export const plotLayout = (o) => ({ font: { family: FONT, size: plotFont(), color: INK }, paper_bgcolor: "rgba(0,0,0,0)",
  hovermode: "closest", showlegend: false, ...o });

/** Plotly's config. With `layers` (stacked plot divs, the top one last) the modebar shows one
 *  camera button that saves what you see, every layer, as one PNG; without, no modebar. */
export function plotConfig(layers, name) {
  const base = { displaylogo: false, responsive: true, scrollZoom: false };
  if (!layers) return { ...base, displayModeBar: false };
  return { ...base, displayModeBar: true, modeBarButtons: [[{ name: "toImage", title: t("plot.png"),
    icon: window.Plotly.Icons.camera, click: () => savePng(layers, name) }]] };
}

async function savePng(layers, name) {
  const { offsetWidth: w, offsetHeight: h } = layers[0];
  const canvas = Object.assign(document.createElement("canvas"), { width: 2 * w, height: 2 * h });
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, 2 * w, 2 * h);
  for (const div of layers.filter((d) => d._fullLayout)) { // the 3-D view purges its lower layer
    const img = new Image();
    img.src = await window.Plotly.toImage(div, { format: "png", width: w, height: h, scale: 2 });
    await img.decode();
    ctx.drawImage(img, 0, 0);
  }
  download(canvas.toDataURL("image/png"), `${name}.png`);
}

/** A POST (JSON, or raw bytes); throws the server's `detail` (or the status) when it refuses. */
export async function post(url, body, raw) {
  const res = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" },
    body: raw ? body : body && JSON.stringify(body) });
  if (!res.ok) {
    const data = await res.json().catch(() => ({}));
    throw new Error(typeof data.detail === "string" ? data.detail : `HTTP ${res.status}`);
  }
  return res;
}

/** Empties `root` and fills it with two stacked plot layers of these classes: [lower, upper]. */
export function stackedLayers(root, lowerClass, upperClass) {
  root.textContent = "";
  const layers = [lowerClass, upperClass].map((cls) => {
    const el = document.createElement("div");
    el.className = cls;
    return el;
  });
  root.append(...layers);
  return layers;
}

// A polite live region for screen readers: the race's status changes (started, paused,
// finished) and each run's end (completed, diverged...), never every frame. Changes that arrive
// together (a `done` ends every run at once) are read as one sentence.

let queued = [];

export function announce(text) {
  if (!queued.length) setTimeout(flush, 150);
  queued.push(text);
}

function flush() {
  $("announce").textContent = queued.join(" ");
  queued = [];
}
