// Labels that never overlap: the loss chart's run names, the surface's start, minimum, arrows
// and run names. Each label tries a few places next to its point, in screen pixels, and takes
// the first one clear of the labels placed before it; with none clear it is left out (the run
// cards still name its run). Boxes are estimated from Plotly's own text placement.

import { FONT } from "./common.js";

const GAP = 3; // px kept clear around each box: the estimate is close, not exact
const ctx = document.createElement("canvas").getContext("2d");
export const AROUND = ["top right", "bottom right", "top left", "bottom left", "middle right", "middle left", "top center", "bottom center"];

/** A plot's data → pixel mapping as last drawn (null before its first 2-D draw). */
export function pixels(div) {
  const fl = div && div._fullLayout, xa = fl && fl.xaxis, ya = fl && fl.yaxis;
  if (!xa || !ya || !xa.c2p || !fl._size || !(fl._size.w > 0)) return null;
  const s = fl._size;
  return {
    x: (v) => xa._offset + xa.c2p(v), y: (v) => ya._offset + ya.c2p(v), toY: (p) => ya.p2c(p - ya._offset),
    plot: { x0: s.l, y0: s.t, x1: s.l + s.w, y1: s.t + s.h }, width: fl.width,
  };
}

/** Width and height (px) of a one-line label. */
export function measure(text, size, bold = true) {
  ctx.font = `${bold ? "700 " : ""}${size}px ${FONT}`;
  return { w: ctx.measureText(text).width, h: size * 1.2 };
}

/** The box of a label at Plotly `textposition` pos around a point (x, y) with a marker of
 *  diameter `marker` px: Plotly sets the text marker/1.6 + 1 px off the point. */
export function boxAt(pos, x, y, marker, size, w) {
  const r = marker ? marker / 1.6 + 1 : 0;
  const x0 = pos.endsWith("left") ? x - r - w : pos.endsWith("right") ? x + r : x - w / 2;
  const y0 = pos.startsWith("top") ? y - r - 1.1 * size : pos.startsWith("bottom") ? y + r - 0.1 * size : y - 0.6 * size;
  return { x0, y0, x1: x0 + w, y1: y0 + 1.2 * size };
}

const hit = (a, b) => a.x0 < b.x1 + 2 * GAP && b.x0 < a.x1 + 2 * GAP && a.y0 < b.y1 + 2 * GAP && b.y0 < a.y1 + 2 * GAP;
const within = (b, r) => b.x0 >= r.x0 && b.x1 <= r.x1 && b.y0 >= r.y0 && b.y1 <= r.y1;

/** For each label in order ({boxes: candidate boxes, best first}), the index of the first box
 *  inside `bounds` and clear of every box taken so far (`taken` starts with obstacles), or -1. */
export function place(labels, bounds, taken = []) {
  return labels.map((l) => {
    const k = l.boxes.findIndex((b) => within(b, bounds) && !taken.some((o) => hit(o, b)));
    if (k >= 0) taken.push(l.boxes[k]);
    return k;
  });
}
