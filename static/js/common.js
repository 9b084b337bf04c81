// Shared helpers: the run colours and number formatting (formatting only, never maths).

/** Okabe-Ito, colour-blind safe: one colour per run, the same in every view. */
export const RUN_COLORS = ["#E69F00", "#56B4E9", "#009E73", "#D55E00", "#0072B2", "#CC79A7"];

/** Class colours for the data view (kept apart from the run colours). */
export const CLASS_COLORS = ["#3B4CC0", "#B40426", "#2E7D32", "#6A3D9A", "#8C6D1F"];
export const CLASS_SYMBOLS = ["circle", "diamond", "square", "triangle-up", "cross"];

export const INK = "#1f2933";
export const MUTED = "#52606d";
export const GRID = "#e4e7eb";
export const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans KR", "Malgun Gothic", "Apple SD Gothic Neo", sans-serif';

export function runColor(run) {
  const i = Number.isInteger(run.color) ? run.color : run.index || 0;
  return RUN_COLORS[((i % RUN_COLORS.length) + RUN_COLORS.length) % RUN_COLORS.length];
}

const MINUS = "\u2212";

/** A number with `sig` significant digits (4 by default); "—" for null/NaN; U+2212 minus. */
export function fmt(v, sig = 4) {
  if (v === null || v === undefined || typeof v !== "number" || !Number.isFinite(v)) return "—";
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

/** Integers with thousands separators: 2,417. */
export function fmtInt(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  return Math.round(v).toLocaleString("en-US");
}

/** Fixed decimals (for angles, percentages). */
export function fmtFixed(v, digits = 1) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
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
