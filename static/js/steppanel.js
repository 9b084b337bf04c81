// "One step, opened up": the inspected run's latest iteration as the source material's four
// phases — 1 forward, 2 loss, 3 backward, 4 update — with the server's numbers (formatting only).
// At a past iteration (timeline, replay) it shows what the stored point holds: losses and weights.

import { t, tOr } from "./i18n.js";
import { fmt, fmtP, fmtFixed, fmtInt, el, isFiniteNum } from "./common.js";

const SHOW_SAMPLES = 2;
const SHOW_PARAMS = 3;

export function createStepPanel(root, subEl) {
  let model = null;   // started.model
  let lossName = "";
  let detail = null;
  let point = null;   // {run, iteration, epoch, loss, batch_loss, params} when no detail is shown
  let dirty = false;

  function reset() { detail = null; point = null; model = null; dirty = false; empty(); }
  function empty() {
    root.style.minHeight = "";
    root.textContent = "";
    subEl.textContent = "";
    root.append(el("p", "empty-note", t("step.empty")));
  }
  function setModel(m, loss) { model = m; lossName = loss || ""; detail = null; point = null; empty(); }
  function set(d) { detail = d; point = null; dirty = true; }
  function setPoint(p) { detail = null; point = p; dirty = true; }

  function names(n = (detail && detail.params && detail.params.length) || 0) {
    const given = model && Array.isArray(model.param_names) ? model.param_names : [];
    return Array.from({ length: n }, (_, k) => given[k] || `θ${k + 1}`);
  }
  function vec(v, sig = 3) {
    if (!Array.isArray(v)) return fmt(v, sig);
    if (v.length === 1) return fmt(v[0], sig);
    return `(${v.map((x) => fmt(x, sig)).join(", ")})`;
  }
  function scalar(v) { return Array.isArray(v) && v.length === 1 ? v[0] : v; }
  // a target as the loss reads it: one-hot vector (CCE), class index (SCCE), else a value like ŷ
  const oneHot = () => lossName === "categorical_crossentropy";
  const sparse = () => lossName === "sparse_categorical_crossentropy";
  function target(v) {
    if (oneHot() && Array.isArray(v)) return `[${v.join(", ")}]`;
    return sparse() ? String(scalar(v)) : vec(v, 2);
  }
  /** The first sample's cross-entropy written out: −log of ŷ at its class (the server's ℓ). */
  function sampleLoss(f) {
    const t0 = f.t && f.t[0], p = f.y_hat && f.y_hat[0], l = f.losses && f.losses[0];
    const k = oneHot() && Array.isArray(t0) ? t0.indexOf(1) : scalar(t0);
    if (!(oneHot() || sparse()) || !Array.isArray(p) || !Number.isInteger(k) || k < 0) return null;
    return line(`ℓ₁ = ${oneHot() ? "−Σ t·log ŷ" : "−log ŷ[t]"} = −log ${fmt(p[k], 3)} = ${fmt(l, 3)}`);
  }

  function phase(n, key, ...contents) {
    const li = el("li", "phase");
    li.append(el("span", "phase-n", String(n)), el("span", "phase-name", t(`step.${key}`)));
    const body = el("div", "phase-body");
    for (const c of contents) if (c) body.append(c);
    li.append(body);
    return li;
  }
  function line(text, cls) { return el("div", `ln${cls ? ` ${cls}` : ""}`, text); }
  function note(text) { return el("div", "ln note", text); }

  function renderPoint(p) {
    root.textContent = "";
    subEl.textContent = t("step.sub", { run: tOr("run.", p.run), i: fmtInt(p.iteration), e: p.epoch });
    const ol = el("ol", "phases");
    const params = Array.isArray(p.params) ? p.params : [];
    const pn = names(params.length), m = Math.min(pn.length, SHOW_PARAMS);
    ol.append(phase(2, "loss", line(`L_B = ${fmt(p.batch_loss, 4)}`, "strong"), note(`${t("step.full")}: L = ${fmt(p.loss, 4)}`)),
      phase(4, "update", ...pn.slice(0, m).map((name, j) => line(`${name} = ${fmt(params[j], 3)}`, "strong")),
        pn.length > m ? note(t("step.params_first", { k: m, n: pn.length })) : null));
    root.append(ol, el("p", "empty-note", t("step.live_only")));
  }

  function render() {
    const d = detail;
    if (!d) { if (point) renderPoint(point); else empty(); return; }
    root.textContent = "";
    subEl.textContent = t("step.sub", { run: tOr("run.", d.run), i: fmtInt(d.iteration), e: d.epoch });
    const ol = el("ol", "phases");
    const pn = names();
    const line2 = !!(d.forward && d.forward.line); // the server says the model is ŷ = w·x + b

    // 1 forward
    const f = d.forward || {};
    const xs = Array.isArray(f.x) ? f.x : [];
    const k = Math.min(SHOW_SAMPLES, xs.length);
    const fw = [];
    if (line2) {
      fw.push(line("ŷ = w·x + b", "formula"));
      const w = d.params_before[0], b = d.params_before[1];
      for (let j = 0; j < k; j++) {
        const x = scalar(xs[j]);
        fw.push(line(`${fmt(w, 3)} × ${fmtP(x, 3)} + ${fmtP(b, 3)} = ${fmt(scalar(f.y_hat[j]), 3)}   (t = ${fmt(scalar(f.t[j]), 3)})`));
      }
    } else {
      for (let j = 0; j < k; j++) {
        fw.push(line(`x = ${vec(xs[j], 2)} → ŷ = ${vec(f.y_hat ? f.y_hat[j] : null, 2)}   (t = ${target(f.t ? f.t[j] : null)})`));
      }
    }
    fw.push(note(t("step.first", { k, n: d.batch_size })));
    ol.append(phase(1, "forward", ...fw));

    // 2 loss
    const kind = oneHot() ? ` · ${t("step.t_one_hot")}` : sparse() ? ` · ${t("step.t_index")}` : "";
    ol.append(phase(2, "loss", sampleLoss(f),
      line(`L_B = ${fmt(d.batch_loss, 4)}   (${t("step.batch_of", { n: d.batch_size, loss: tOr("loss.", lossName).split(" ")[0] })})`, "strong"),
      note(`${t("step.full")}: L = ${fmt(d.loss, 4)}${kind}`)));

    // 3 backward
    const g = d.grad || [], gf = d.full_grad || [];
    const m = Math.min(pn.length, line2 ? 2 : SHOW_PARAMS);
    const bw = [];
    const grid = el("div", "gradgrid");
    grid.append(el("span", "gh", ""), el("span", "gh", t("step.grad_batch")), el("span", "gh", t("step.grad_full")));
    for (let j = 0; j < m; j++) {
      grid.append(el("span", "gp", `∂L/∂${pn[j]}`), el("span", "gv", fmt(g[j], 3)), el("span", "gv muted", fmt(gf[j], 3)));
    }
    bw.push(grid);
    const extra = [];
    if (isFiniteNum(d.grad_norm)) extra.push(t("step.norm", { v: fmt(d.grad_norm, 3) }));
    if (isFiniteNum(d.full_grad_norm)) extra.push(`‖∇L‖ = ${fmt(d.full_grad_norm, 3)}`);
    if (pn.length > m) extra.push(t("step.params_first", { k: m, n: pn.length }));
    if (isFiniteNum(d.angle)) extra.push(t("step.angle", { deg: fmtFixed(d.angle, 1) }));
    if (extra.length) bw.push(note(extra.join(" · ")));
    ol.append(phase(3, "backward", ...bw));

    // 4 update
    const up = [];
    const rule = d.update && d.update !== "sgd" ? d.update : "sgd";
    up.push(line(t(`step.rule.${rule}`), "formula"));
    const pb = d.params_before || [], pa = d.params || [];
    for (let j = 0; j < m; j++) {
      if (rule === "sgd") {
        up.push(line(`${pn[j]} = ${fmt(pb[j], 3)} − ${fmt(d.lr, 3)} × ${fmtP(g[j], 3)} = ${fmt(pa[j], 3)}`, "strong"));
      } else {
        up.push(line(`${pn[j]}: ${fmt(pb[j], 3)} → ${fmt(pa[j], 3)}`, "strong"));
      }
    }
    ol.append(phase(4, "update", ...up));
    root.append(ol);
  }

  function flush() {
    if (!dirty) return false;
    dirty = false;
    render();
    return false;
  }
  // Never shorter than it has been in this race: a line that wraps one iteration and not the
  // next would resize the plots above, a full redraw each time (and a jumping page). Read after
  // layout by a ResizeObserver: asking for the height after each render would force a layout.
  new ResizeObserver(([e]) => {
    const h = e.borderBoxSize[0].blockSize;
    if (root.textContent && h > parseFloat(root.style.minHeight || 0)) root.style.minHeight = `${h}px`;
  }).observe(root);
  function relabel() { render(); }

  empty();
  return { reset, setModel, set, setPoint, flush, relabel };
}
