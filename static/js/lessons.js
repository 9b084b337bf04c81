// Lessons (issue 15): a strip with the step's title, text and question in the page's language,
// Prev / Next, and the step's config loaded paused, ready to Start. `?lesson=ID&step=K` or the
// Lessons menu opens it. Every start names the step on screen (`lesson`), so a room's viewers
// show the same step; share links and the page's URL keep it.

import { t, lang, onLangChange } from "./i18n.js";
import { $, el, readJson } from "./common.js";
import { ROOM } from "./state.js";

let ref = readJson("page-lesson"); // {id, step} on screen, known before its texts arrive
let lesson = null;                 // its texts, from GET /api/lessons/ID

/** The step on screen as a start's `lesson` ({id, step}), or null. */
export const lessonRef = () => ref && { ...ref };
/** The page URL's suffix for it ("" or "&lesson=ID&step=K"). */
export const lessonQuery = () => (ref ? `&lesson=${encodeURIComponent(ref.id)}&step=${ref.step}` : "");
/** The step's question in the page's language, {prompt, choices: [text]}, or null ("Ask the class"). */
export function currentQuestion() {
  const q = lesson && ref && lesson.steps[ref.step - 1].question, l = lang();
  return q ? { prompt: q.prompt[l], choices: q.choices.map((c) => c[l]) } : null;
}

export function createLessons(ui) {
  const dlg = $("lessons-dlg"), list = $("lessons-list");
  let all = null;

  function render() {
    const s = lesson && ref && lesson.steps[ref.step - 1], l = lang();
    $("lesson").hidden = !s;
    if (s) {
      $("lesson-pos").textContent = t("lesson.pos", { name: lesson.title[l], k: ref.step, n: lesson.steps.length });
      $("lesson-step").textContent = s.title[l];
      $("lesson-text").textContent = s.text[l];
      const q = s.question;
      $("lesson-q").hidden = !q;
      if (q) $("lesson-prompt").textContent = q.prompt[l] + " " + q.choices.map((c, i) => "ABCDEF"[i] + ". " + c[l]).join(" · ");
      $("lesson-prev").disabled = ref.step < 2;
      $("lesson-next").disabled = ref.step >= lesson.steps.length;
    }
    if (all) list.replaceChildren(...all.map((x) => {
      const b = el("button", "btn", x.title[l]);
      b.onclick = () => { dlg.close(); open(x.id, 1, true); };
      return b;
    }));
  }

  /** Show step `step` of lesson `id`; `load`: its config too, primed (paused, ready to Start). */
  async function open(id, step, load) {
    try {
      if (lesson?.id !== id) {
        const r = await fetch(`/api/lessons/${encodeURIComponent(id)}`);
        lesson = r.ok ? await r.json() : null;
      }
    } catch (_) { lesson = null; }
    if (!lesson) { ref = null; render(); return; }
    ref = { id, step }; // in range: the server checked a link's or a start's step
    render();
    if (load) { ui.controls.setConfig(lesson.steps[ref.step - 1].config); ui.actions.reset(); }
  }
  /** A viewer: the presenter's step (from `started`), or none. */
  function follow(r) {
    if (!ROOM) return;
    if (r) open(r.id, r.step, false);
    else { ref = lesson = null; render(); }
  }
  const go = (d) => open(ref.id, ref.step + d, true);

  $("lesson-prev").onclick = () => go(-1);
  $("lesson-next").onclick = () => go(1);
  $("lesson-close").onclick = () => { ref = lesson = null; render(); ui.classroom.syncUrl(ui.actions.shareConfig()); };
  $("lessons-x").onclick = () => dlg.close();
  $("btn-lessons").onclick = async () => {
    dlg.showModal();
    if (!all) { try { all = await (await fetch("/api/lessons")).json(); render(); } catch (_) { /* stays empty */ } }
  };
  onLangChange(render);
  if (ref) open(ref.id, ref.step, false); // the link's step: its config is the link's
  return { follow, open };
}
