// Descent Playground's boot script: it creates the widgets and the parts of the page and wires
// them together. The same page serves the teacher (/ws/train), a viewer of a room (/room/CODE,
// read-only) and the replay of a file. Where things live:
//   js/state.js     the page's state and the options the server wrote into the page
//   js/dispatch.js  the dispatch table: one handler per message `type`; the notice
//   js/actions.js   start, pause, step, reset and the command queue
//   js/replay.js    a saved run replayed through the dispatch table
//   js/inspect.js   the inspected run, live or at the timeline's iteration; the timeline
//   js/views.js     the status badge, view toggles, language, large text, the learning-rate map
//   js/draw.js      one requestAnimationFrame flush for every widget
//   js/runsedit.js  the runs editor on the run cards
//   js/classroom.js share, present, save / load, and a room's viewer
//   js/lessons.js   the lesson strip: a step's text and question, Prev / Next, the Lessons menu
//   js/*.js         one module per widget (surface, loss chart, data view, counters, ...)

import { t, applyI18n, onLangChange } from "./js/i18n.js";
import { $ } from "./js/common.js";
import { state, page, initialConfig, ROOM } from "./js/state.js";
import { createSocket } from "./js/socket.js";
import { createControls, createMore } from "./js/controls.js";
import { createSurface } from "./js/surface.js";
import { createLossChart } from "./js/losschart.js";
import { createDataView } from "./js/dataview.js";
import { createCounters } from "./js/counters.js";
import { createStepPanel } from "./js/steppanel.js";
import { createClassroom, createFiles, createViewer } from "./js/classroom.js";
import { createDraw } from "./js/draw.js";
import { createDispatch, createNotice, errorText } from "./js/dispatch.js";
import { createActions } from "./js/actions.js";
import { createReplay } from "./js/replay.js";
import { createInspect, createTimeline } from "./js/inspect.js";
import { createViews, createLrMap } from "./js/views.js";
import { createRunsEditor } from "./js/runsedit.js";
import { createVote } from "./js/vote.js";
import { createLessons, currentQuestion } from "./js/lessons.js";
import { createRepeats } from "./js/repeats.js";
import { createCustomData } from "./js/customdata.js";

// Every widget and part of the page by name. The parts look each other up here when they are
// called (never while they are created), so the order below only follows the page's own.
const ui = {};
ui.rep = createRepeats($("loss-plot"), $("surface-plot"));

// ---- widgets
const request = () => ui.draw.request(); // a resized plot places its labels again in its next turn
ui.surface = createSurface($("surface-plot"), { emptyEl: $("surface-empty"), captionEl: $("surface-caption"), request,
  extra: ui.rep.surfaceTraces });
ui.loss = createLossChart($("loss-plot"), request, ui.rep.lossTraces);
ui.data = createDataView($("data-plot"));
ui.counters = createCounters($("counters"), { onPick: (name) => { if (!ROOM) ui.inspect.pick(name); },
  decorate: (card, run, i) => ui.runsEdit.decorate(card, run, i) });
ui.step = createStepPanel($("step-body"), $("step-sub"));
ui.timeline = createTimeline({ onScrub: (k) => ui.inspect.scrub(k) });
ui.draw = createDraw({ surface: ui.surface, loss: ui.loss, data: ui.data, counters: ui.counters, step: ui.step, rep: ui.rep });

// Plotly's `responsive` follows the window only: a panel that changes size resizes its plots too.
const resized = new ResizeObserver((entries) => {
  for (const e of entries) for (const d of e.target.querySelectorAll(".js-plotly-plot")) window.Plotly?.Plots.resize(d).catch(() => {});
});
for (const w of document.querySelectorAll(".plot-wrap")) resized.observe(w);

window.__dp = { state, t, perf: ui.draw.perf, plots: { surface: ui.surface.layers.fg, surfaceBackground: ui.surface.layers.bg,
  loss: $("loss-plot"), data: ui.data.layers.lower, dataTop: ui.data.layers.upper } };

// ---- the parts of the page
ui.notice = createNotice();
ui.dispatch = createDispatch(ui);
ui.inspect = createInspect(ui);
ui.actions = createActions(ui);
ui.replay = createReplay(ui);
ui.views = createViews(ui);
ui.viewer = createViewer(ui);

// ---- the socket: /ws/train, or a viewer's /ws/room/CODE
ui.socket = createSocket({
  path: ROOM ? `/ws/room/${encodeURIComponent(ROOM)}` : "/ws/train",
  handlers: ui.dispatch.gated,
  retry: ROOM ? ui.viewer.retry : undefined,
  onLost: ui.actions.connectionLost,
  onOpen: ui.actions.connected,
});

ui.map = createLrMap(ui);

const a = ui.actions;
ui.controls = createControls({
  onStart: a.start, onPause: a.pause, onStep: a.stepOnce, onReset: a.reset,
  onConfigChange: a.configChanged, onSpeed: a.speedChanged, onError: ui.notice.show, custom: () => ui.custom,
});
ui.custom = createCustomData(ui);
ui.runsEdit = createRunsEditor(ui);
ui.classroom = createClassroom({
  send: (m) => ui.socket.send(m), getConfig: a.shareConfig, notify: ui.notice.show, dismiss: ui.notice.hide,
});
// "Ask the class" opens on the lesson step's question, if a lesson is open (ui.vote.openAsk)
window.__dp.vote = ui.vote = createVote((m) => ui.socket.send(m), currentQuestion);
createFiles({ getRequest: a.exportRequest, onLoad: ui.replay.replay, notify: ui.notice.show });
createMore($("more"));
ui.lessons = createLessons(ui);
onLangChange(ui.views.relabel);

// ---- boot
if (ROOM) $("surface-empty").dataset.i18n = "room.waiting";
applyI18n();
ui.views.showLang();
ui.views.restoreLarge();
ui.views.setStatus("idle");
ui.counters.reset();
ui.step.reset();
if (ROOM) {
  $("inspect-run").disabled = true; // the viewer follows the presenter's run
  ui.viewer.show();
  ui.viewer.open();
} else {
  const notices = page.notices || [];
  if (notices.length) {
    ui.notice.show(() => [t("link.notice"), ...notices.map((n) =>
      `• ${n.field || "?"}${n.value ? ` = “${n.value}”` : ""}: ${errorText(n)}`)].join("\n"), "link");
  }
  ui.controls.loadDatasets().then(() => {
    ui.controls.setConfig(initialConfig);
    // presenting after a reload: the server may resume the race (then nothing is started here)
    const go = page.autoplay ? a.start : a.prime;
    if (!ui.classroom.represent(go)) go();
  });
}

// plotly.js (3.5 MB) last: the page and its controls work while it loads, and say so
const plotly = document.createElement("script");
plotly.src = $("plotly-src").href;
plotly.onload = () => { document.body.classList.remove("loading-plots"); ui.draw.request(); };
plotly.onerror = () => ui.notice.show(t("plots.failed"));
document.head.append(plotly);
