// Class votes (peer instruction: ask, everyone commits, then reveal). The presenter's "Ask the
// class" dialog: a typed question (or a lesson step's, through openAsk), then a live bar chart
// of the answers with Reveal and Close. A viewer's page shows the question with one large button
// per choice, marks the one sent, and shows the tally once revealed. Counts are always text.
// Both views are a box of [prompt, list of choices, "N voted"]. Its handlers are named after the
// messages they take (js/dispatch.js calls them by `type`).

import { t, onLangChange } from "./i18n.js";
import { $, el } from "./common.js";
import { ROOM } from "./state.js";

export function createVote(send, lessonQuestion = () => null) {
  const dlg = $("vote-dialog"), form = $("ask-form"), ask = $("btn-ask"), inputs = [...form.querySelectorAll("[maxlength]")];
  const box = ROOM ? $("vote") : $("vote-live"), [head, list, note] = box.children;
  let q = null, counts, voters, revealed, mine, live, editing, pending;

  function render() {
    ask.hidden = !live;
    const n = t("vote.voters", { n: voters });
    ask.textContent = q ? n : t("vote.ask");
    $("vote-reveal").disabled = revealed;
    form.hidden = q && !editing;
    box.hidden = !q || !form.hidden;
    if (box.hidden) return;
    head.textContent = q.prompt;
    note.textContent = counts ? n : "";
    list.textContent = "";
    const sum = counts && counts.reduce((a, b) => a + b, 0);
    // one row per choice: its letter and text, and once known its count, share and bar
    q.choices.forEach((c, i) => {
      const row = list.appendChild(el("li")).appendChild(el(ROOM ? "button" : "div", "bar")), pc = sum && Math.round(100 * counts[i] / sum);
      if (ROOM) {
        row.setAttribute("aria-pressed", mine === i);
        row.onclick = () => send({ type: "vote", id: q.id, choice: i });
      }
      if (counts) row.appendChild(el("i")).style.width = pc + "%";
      row.append(el("span", 0, "ABCDEF"[i] + ". " + c + (mine === i ? " ✓ " + t("vote.yours") : "")));
      if (counts) row.append(el("b", 0, counts[i] + " · " + pc + "%"));
    });
  }

  const open = () => { render(); dlg.open || dlg.showModal(); };

  form.onsubmit = (ev) => { // the browser checks `required`: a prompt and two choices
    ev.preventDefault();
    const [prompt, ...choices] = inputs.map((i) => i.value.trim());
    send({ type: "ask", question: pending = { prompt, choices: choices.filter(Boolean) } });
  };
  ask.onclick = () => { const lq = !q && lessonQuestion(); if (lq) api.openAsk(lq); else open(); }; // a lesson's step: its question
  $("vote-reveal").onclick = () => send({ type: "reveal" });
  $("vote-close").onclick = () => send({ type: "close_question" });
  onLangChange(render);

  const show = (m) => { q = m; counts = !ROOM && m.choices.map(() => 0); voters = revealed = editing = 0; mine = -1; render(); };
  const api = {
    /** The ask form filled with {prompt, choices} (a lesson step's question in the page's
     *  language), opened for the teacher to check and send. */
    openAsk({ prompt, choices }) {
      editing = true;
      inputs.forEach((input, i) => { input.value = (i ? choices[i - 1] : prompt) || ""; });
      open();
    },
    /** Presenting or not: the top bar's "Ask the class" button shows while presenting. */
    live(on) { live = on; if (!on) { q = null; dlg.close(); } render(); },
    asked(m) { if (pending) show({ id: m.id, ...pending }); pending = null; },
    question(m) { if (q?.id !== m.id) show(m); },
    votes(m) { if (q?.id === m.id) { ({ counts, voters } = m); revealed ||= m.revealed; render(); } },
    voted(m) { if (q?.id === m.id) { mine = m.choice; render(); } },
    question_closed(m) { if (q?.id === m.id) { q = null; render(); } },
  };
  return api;
}
