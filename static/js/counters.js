// One row per run: name, its settings (batch, learning rate, update rule), status, epoch e/E,
// iteration i/I with a progress bar, current loss, and the source material's arithmetic
// "n samples ÷ batch b = k iterations per epoch × E = I". Each row sits in a card that the runs
// editor (`decorate`) gives its edit button.

import { t, tOr } from "./i18n.js";
import { runColor, runGlyph, fmt, fmtInt, el } from "./common.js";

/** A run's settings in words: "batch 32 · lr 0.2 · plain GD" (`main`: the lr is the main one). */
export function runSpec(r, main) {
  const b = r.batch_size === null ? t("runs.full", { b: fmtInt(r.effective_batch_size) }) : t("runs.batch", { b: fmtInt(r.batch_size) });
  return `${b} · ${t(main ? "runs.lr_main" : "runs.lr", { v: r.lr ? +r.lr.toPrecision(3) : "—" })} · ${t(`rule.${r.update || "sgd"}`)}`;
}

export function createCounters(root, { onPick, decorate }) {
  let rows = [];
  let runs = [];
  let nSamples = 0;
  let epochs = 0;
  let mains = [];       // per run: does it use the main learning rate (its config's lr is null)?
  let dirty = false;
  let inspected = null;
  let at = null;        // timeline: per run the point shown instead of the latest (null = live)

  function empty() {
    root.textContent = "";
    root.append(el("p", "empty-note", t("cnt.empty")));
  }

  function reset() { rows = []; runs = []; at = null; empty(); }

  function setRuns(list, config) {
    runs = list.map((r) => ({ ...r, status: "running", iteration: 0, epoch: 0, loss: null, divergedAt: null }));
    nSamples = config.n_samples ?? (config.data ? config.data.X.length : 0);
    epochs = config.epochs;
    mains = runs.map((r, i) => !(config.runs && config.runs[i] && config.runs[i].lr));
    root.textContent = "";
    rows = runs.map((r, i) => {
      const card = el("div", "run-card");
      const row = el("div", "run");
      row.style.setProperty("--run", runColor(r));
      row.dataset.run = r.name;
      row.tabIndex = 0;
      row.setAttribute("role", "button");
      const head = el("div", "run-head");
      const name = el("span", "run-name");
      const status = el("span", "badge");
      const spec = el("span", "run-spec");
      const glyph = el("span", "swatch"); // its surface marker's shape: the card is the legend
      glyph.textContent = runGlyph(r);
      glyph.setAttribute("aria-hidden", "true");
      head.append(glyph, name, status, spec);
      const loss = el("span", "num loss");
      const nums = el("div", "run-nums");
      const ep = el("span", "num");
      const it = el("span", "num");
      const bar = el("div", "bar");
      const fill = el("div", "fill");
      bar.append(fill);
      nums.append(ep, it, bar);
      const arith = el("p", "arith");
      row.append(head, loss, nums, arith);
      row.addEventListener("click", () => onPick(r.name));
      row.addEventListener("keydown", (ev) => { if (ev.key === "Enter") onPick(r.name); });
      card.append(row);
      root.append(card);
      if (decorate) decorate(card, r, i);
      return { row, name, status, spec, ep, it, loss, fill, arith };
    });
    dirty = true;
    render();
  }

  function update(i, point) {
    const r = runs[i];
    if (!r) return;
    r.iteration = point.iteration;
    r.epoch = point.epoch;
    if (point.loss !== null && point.loss !== undefined) r.loss = point.loss;
    if (point.status) setStatus(i, point.status, point.iteration);
    dirty = true;
  }

  function setStatus(i, status, iteration) {
    const r = runs[i];
    if (!r) return;
    r.status = status;
    if (status === "diverged" && r.divergedAt === null) r.divergedAt = iteration;
    dirty = true;
  }

  function finish(i, info) {
    const r = runs[i];
    if (!r) return;
    r.status = info.status;
    if (Number.isFinite(info.iterations)) r.iteration = info.iterations;
    if (Number.isFinite(info.epochs)) r.epoch = info.epochs;
    if (typeof info.loss === "number") r.loss = info.loss;
    if (info.status === "diverged" && r.divergedAt === null) r.divergedAt = r.iteration;
    r.spread = info.repeats ? info : null; // repeats: the final loss's median and range
    dirty = true;
  }

  function setInspected(name) { inspected = name; dirty = true; }
  function setCursor(points) { at = points; dirty = true; }

  function render() {
    runs.forEach((live, i) => {
      const w = rows[i];
      const p = at && at[i];
      const r = p ? { ...live, iteration: p.iteration, epoch: p.epoch, loss: p.loss, status: p.status || "running" } : live;
      w.row.classList.toggle("inspected", r.name === inspected);
      const st = r.status === "running" && !r.iteration ? "idle" : r.status; // "ready" before the first step
      w.row.dataset.status = st;
      w.name.textContent = tOr("run.", r.name);
      w.spec.textContent = runSpec(r, mains[i]);
      w.status.textContent = st === "diverged" ? t("status.diverged_at", { i: fmtInt(r.divergedAt) }) : t(`status.${st}`);
      w.ep.textContent = `${t("cnt.epoch")} ${fmtInt(r.epoch)}/${fmtInt(epochs)}`;
      w.it.textContent = `${t("cnt.iteration")} ${fmtInt(r.iteration)}/${fmtInt(r.total_iterations)}`;
      w.loss.textContent = `${t("cnt.loss")} ${fmt(r.loss, 4)}`;
      const frac = r.total_iterations ? Math.min(1, r.iteration / r.total_iterations) : 0;
      w.fill.style.width = `${(frac * 100).toFixed(2)}%`;
      // the server's arithmetic: the last batch of an epoch is smaller when ÷ rounds up
      const b = r.effective_batch_size;
      const ceil = r.last_batch_size < b ? t("arith.ceil") : "";
      const s = r.spread;
      w.arith.textContent = (s ? t("rep.spread", { m: fmt(s.loss_median, 3), lo: fmt(s.loss_min, 3), hi: fmt(s.loss_max, 3) }) : "") + t("arith.line", { n: fmtInt(nSamples), b: fmtInt(b), ipe: fmtInt(r.iterations_per_epoch), ceil,
        e: fmtInt(epochs), total: fmtInt(r.total_iterations) });
    });
  }

  function flush() {
    if (!dirty) return false;
    dirty = false;
    render();
    return false;
  }

  function relabel() { if (runs.length) { dirty = true; render(); } else empty(); }

  empty();
  return { reset, setRuns, update, setStatus, finish, setInspected, setCursor, flush, relabel };
}
