// Every label, help text and message of the page, one dictionary per language.
// `en` and `ko` have the same keys (a test checks). Korean uses the source material's terms:
// 순전파, 손실함수, 역전파, 경사하강법, 배치 사이즈, 이터레이션, 에폭, 학습률.

export const en = {
  "app.title": "Descent Playground",
  "app.tagline": "SGD, mini-batch and full batch race down the same loss surface",

  "ctl.open": "Controls",
  "ctl.dataset": "Dataset",
  "ctl.classes": "Classes",
  "ctl.noise": "Noise",
  "ctl.samples": "Samples",
  "ctl.hidden": "Hidden layers",
  "ctl.hidden_ph": "none",
  "ctl.hidden_title": "Hidden layer widths, e.g. 8,8 (empty = no hidden layer: ŷ = w·x + b)",
  "ctl.activation": "Activation",
  "ctl.loss": "Loss",
  "ctl.lr": "Learning rate",
  "ctl.batch": "Mini-batch size",
  "ctl.epochs": "Epochs",
  "ctl.seed": "Seed",
  "ctl.target": "Target loss",
  "ctl.patience": "Patience",
  "ctl.none_ph": "off",
  "ctl.speed": "Speed",
  "ctl.speed_unit": "it/s",
  "ctl.speed_max": "max",
  "ctl.pacing": "Pacing",
  "pacing.iterations": "equal iterations",
  "pacing.samples": "equal samples",

  "btn.start": "Start",
  "btn.again": "Restart",
  "btn.resume": "Resume",
  "btn.pause": "Pause",
  "btn.step": "Step",
  "btn.reset": "Reset",
  "btn.large": "Large text",
  "btn.help": "Help",
  "btn.close": "Close",
  "keys.hint": "Space start / pause · → step · R reset",

  "task.regression": "regression",
  "task.binary": "binary classification",
  "task.multiclass": "multi-class classification",
  "reason.regression": "regression → MSE, MAE",
  "reason.binary": "binary classification → binary_crossentropy",
  "reason.multiclass": "multi-class → categorical / sparse_categorical_crossentropy",

  "loss.mse": "MSE",
  "loss.mae": "MAE",
  "loss.binary_crossentropy": "binary_crossentropy",
  "loss.categorical_crossentropy": "categorical_crossentropy",
  "loss.sparse_categorical_crossentropy": "sparse_categorical_crossentropy",

  "act.sigmoid": "sigmoid",
  "act.tanh": "tanh",
  "act.relu": "ReLU",
  "act.leaky_relu": "leaky ReLU",
  "act.linear": "linear",

  "ds.linear": "line y = 2x − 1",
  "ds.sine": "sine wave",
  "ds.blobs": "two blobs",
  "ds.moons": "two moons",
  "ds.circles": "circles",
  "ds.xor": "XOR",
  "ds.spiral": "spiral",
  "ds.multiblobs": "k blobs",
  "ds.spiral_k": "k-arm spiral",

  "run.SGD": "SGD",
  "run.Mini-batch": "Mini-batch",
  "run.Full batch": "Full batch",

  "status.idle": "ready",
  "status.waiting": "waiting",
  "status.running": "running",
  "status.paused": "paused",
  "status.completed": "completed",
  "status.target_reached": "target reached",
  "status.early_stopped": "early stopped",
  "status.diverged": "diverged",
  "status.stopped": "stopped",
  "status.diverged_at": "✕ diverged at iteration {i}",

  "cnt.title": "The race",
  "cnt.epoch": "epoch",
  "cnt.iteration": "iteration",
  "cnt.loss": "loss",
  "cnt.empty": "Press Start: every run begins at the same point.",
  "arith.line": "{n} samples ÷ batch {b} = {ipe} it/epoch{ceil} × {e} epochs = {total} iterations",
  "arith.ceil": " (rounded up)",

  "surface.title": "Loss surface",
  "surface.contour": "Contour",
  "surface.3d": "3-D",
  "surface.batch": "What this batch sees",
  "surface.empty": "Press Start to watch the runs race down the same loss surface.",
  "surface.exact": "Exact surface: the model has exactly two parameters, {a} and {b}.",
  "surface.projected": "Projected 2-D slice of {n} parameters, mean residual {pct}.",
  "surface.projected_pending": "Projected 2-D slice of {n} parameters.",
  "surface.projected_point": "Projected 2-D slice of {n} parameters; residual at {run}'s current point {pct}.",
  "surface.start": "start",
  "surface.minimum": "minimum",
  "surface.arrow_full": "−∇L (all data)",
  "surface.arrow_batch": "−∇L_B (this batch)",
  "surface.angle": "{run}, iteration {i}: angle between −∇L and −∇L_B = {deg}°",
  "surface.ghost": "L_B = {v}",
  "surface.batch_contours": "dashed: the loss of this batch only",
  "surface.no_batch": "The batch surface exists only for exact (two-parameter) surfaces.",
  "surface.loss": "loss",

  "lr.limit": "2/λ_max = {v}",
  "lr.warn": "lr is above 2/λ_max = {v}: full batch will diverge",
  "lr.limit_title": "Above 2/λ_max full-batch gradient descent on MSE overshoots and diverges",

  "loss.title": "Loss",
  "loss.x": "x axis",
  "loss.x.iterations": "iterations",
  "loss.x.epochs": "epochs",
  "loss.x.samples": "samples seen",
  "loss.log": "log scale",
  "loss.key": "thin = batch loss L_B · bold = full-data loss L",
  "loss.y": "loss",
  "loss.batch": "batch loss",
  "loss.full": "full-data loss",

  "data.title": "Data + current model",
  "data.run": "Run",
  "data.class": "class {k}",
  "data.data": "data",
  "data.prediction": "prediction",
  "data.p": "p(class 1)",
  "data.winner": "predicted class",

  "step.title": "One step, opened up",
  "step.sub": "{run} · iteration {i} · epoch {e}",
  "step.empty": "The latest iteration of the inspected run appears here.",
  "step.forward": "forward",
  "step.loss": "loss",
  "step.backward": "backward",
  "step.update": "update",
  "step.first": "first {k} of {n} samples in the batch",
  "step.batch_of": "{loss} on this batch of {n}",
  "step.full": "all data",
  "step.grad_batch": "batch gradient",
  "step.grad_full": "full-data gradient",
  "step.norm": "‖∇L_B‖ = {v}",
  "step.params_first": "first {k} of {n} parameters",
  "step.rule.sgd": "new w = w − lr × ∂L/∂w",
  "step.rule.momentum": "momentum: v = 0.9·v − lr × ∂L/∂w, then w = w + v",
  "step.rule.adam": "Adam: a step per weight from running averages of the gradient",
  "step.angle": "angle between them {deg}°",
  "step.model": "{n} parameters",

  "help.title.loop": "The training loop",
  "help.loop": "Every iteration is four steps on one batch. 1 Forward pass: inputs × weights + bias, through the activation function, give the output ŷ. 2 Loss: the loss function measures how far ŷ is from the targets. 3 Backward pass (backpropagation): partial derivatives and the chain rule give ∂L/∂w for every weight. 4 Update (gradient descent): new w = w − learning rate × ∂L/∂w. Repeat 1-4 until the training criterion is met.",
  "help.title.loss": "Which loss for which task",
  "help.loss": "Regression → MAE or MSE. Binary classification → binary_crossentropy. Multi-class classification → categorical_crossentropy (one-hot labels) or sparse_categorical_crossentropy (integer labels). The list offers only the losses that fit the dataset's task.",
  "help.title.batch": "Small or large batches",
  "help.batch": "Full-batch gradient descent uses all the data for every update: a smooth path, but slow and memory-hungry on large data. SGD uses one sample per update: very fast updates, but an unstable, zig-zagging path. Mini-batch uses N samples per update (N = the batch size, usually a power of two): the compromise. Small batches: unstable, many iterations, a better chance to escape local minima. Large batches: stable and fast, but too large runs out of memory.",
  "help.title.epoch": "Epochs and iterations",
  "help.epoch": "One iteration updates the weights once. One epoch is one pass over all the data. Data size = batch size × iterations per epoch. Example: 1,000 samples with batch size 100 → 10 iterations per epoch; epochs = 5 → 50 iterations.",
  "help.title.lr": "Learning rate",
  "help.lr": "Each update steps against the slope: new w = w − learning rate × ∂L/∂w. Too small: slow progress. Too large: the steps overshoot and the loss blows up (the run diverges). For MSE with two parameters the page marks 2/λ_max: above it, full batch diverges.",
  "help.title.speed": "Speed and pacing",
  "help.speed": "Speed is iterations per second per run. Equal iterations: every run makes the same number of updates per second. Equal samples: every run processes the same number of samples per second (equal compute), so full batch moves slowest.",

  "err.title": "Problem",
  "err.out_of_range": "A value is out of range ({field}).",
  "err.bad_value": "A value is not valid ({field}).",
  "err.bad_type": "A value has the wrong type ({field}).",
  "err.bad_config": "These settings do not fit together.",
  "err.unknown_field": "The server does not know the field {field}.",
  "err.unknown_run": "There is no run with that name.",
  "err.no_run": "Nothing is running: press Start first.",
  "err.not_paused": "Step works while paused.",
  "err.bad_message": "The server did not understand a message.",
  "err.busy": "The server is busy: too many sessions. Try again in a moment.",
  "err.connection": "Connection lost: reconnecting…",
  "err.reconnected": "Connected again. Press Start.",
  "err.datasets": "Could not load the dataset list.",
  "err.hidden": "Hidden layers: widths 1-32 separated by commas, at most 4 layers (e.g. 8,8).",
};

export const ko = {
  "app.title": "Descent Playground",
  "app.tagline": "확률적 경사 하강법 (SGD), 미니 배치, 전체 배치가 같은 손실 곡면을 내려가는 경주",

  "ctl.open": "설정",
  "ctl.dataset": "데이터셋",
  "ctl.classes": "클래스 수",
  "ctl.noise": "노이즈",
  "ctl.samples": "데이터 크기",
  "ctl.hidden": "은닉층",
  "ctl.hidden_ph": "없음",
  "ctl.hidden_title": "은닉층의 너비, 예: 8,8 (비우면 은닉층 없음: ŷ = w·x + b)",
  "ctl.activation": "활성화 함수",
  "ctl.loss": "손실함수",
  "ctl.lr": "학습률",
  "ctl.batch": "미니 배치 사이즈",
  "ctl.epochs": "에폭",
  "ctl.seed": "시드",
  "ctl.target": "목표 손실",
  "ctl.patience": "조기 종료 (에폭)",
  "ctl.none_ph": "끔",
  "ctl.speed": "속도",
  "ctl.speed_unit": "회/초",
  "ctl.speed_max": "최대",
  "ctl.pacing": "맞추는 기준",
  "pacing.iterations": "같은 이터레이션 수",
  "pacing.samples": "같은 샘플 수",

  "btn.start": "시작",
  "btn.again": "다시 시작",
  "btn.resume": "계속",
  "btn.pause": "일시정지",
  "btn.step": "한 단계",
  "btn.reset": "초기화",
  "btn.large": "큰 글씨",
  "btn.help": "도움말",
  "btn.close": "닫기",
  "keys.hint": "스페이스 시작 / 일시정지 · → 한 단계 · R 초기화",

  "task.regression": "회귀",
  "task.binary": "이진 분류",
  "task.multiclass": "다중 분류",
  "reason.regression": "회귀 → MSE, MAE",
  "reason.binary": "이진 분류 → binary_crossentropy",
  "reason.multiclass": "다중 분류 → categorical / sparse_categorical_crossentropy",

  "loss.mse": "MSE (평균 제곱 오차)",
  "loss.mae": "MAE (평균 절대 오차)",
  "loss.binary_crossentropy": "binary_crossentropy",
  "loss.categorical_crossentropy": "categorical_crossentropy",
  "loss.sparse_categorical_crossentropy": "sparse_categorical_crossentropy",

  "act.sigmoid": "시그모이드",
  "act.tanh": "tanh",
  "act.relu": "ReLU",
  "act.leaky_relu": "Leaky ReLU",
  "act.linear": "선형",

  "ds.linear": "직선 y = 2x − 1",
  "ds.sine": "사인 곡선",
  "ds.blobs": "두 덩어리",
  "ds.moons": "두 반달",
  "ds.circles": "동심원",
  "ds.xor": "XOR",
  "ds.spiral": "나선",
  "ds.multiblobs": "여러 덩어리",
  "ds.spiral_k": "여러 갈래 나선",

  "run.SGD": "SGD",
  "run.Mini-batch": "미니 배치",
  "run.Full batch": "전체 배치",

  "status.idle": "준비",
  "status.waiting": "대기",
  "status.running": "진행 중",
  "status.paused": "일시정지",
  "status.completed": "완료",
  "status.target_reached": "목표 도달",
  "status.early_stopped": "조기 종료",
  "status.diverged": "발산",
  "status.stopped": "중지됨",
  "status.diverged_at": "✕ 이터레이션 {i}에서 발산",

  "cnt.title": "경주",
  "cnt.epoch": "에폭",
  "cnt.iteration": "이터레이션",
  "cnt.loss": "손실",
  "cnt.empty": "시작을 누르세요: 모든 실행이 같은 점에서 출발합니다.",
  "arith.line": "데이터 {n}개 ÷ 배치 사이즈 {b} = 에폭당 {ipe}회{ceil} × 에폭 {e} = 이터레이션 {total}회",
  "arith.ceil": " (올림)",

  "surface.title": "손실 곡면",
  "surface.contour": "등고선",
  "surface.3d": "3D",
  "surface.batch": "이 배치가 보는 곡면",
  "surface.empty": "시작을 누르면 같은 손실 곡면을 내려가는 경주가 시작됩니다.",
  "surface.exact": "정확한 곡면: 모델의 매개변수는 {a}, {b} 두 개뿐입니다.",
  "surface.projected": "매개변수 {n}개를 2차원으로 투영한 단면, 평균 잔차 {pct}.",
  "surface.projected_pending": "매개변수 {n}개를 2차원으로 투영한 단면.",
  "surface.projected_point": "매개변수 {n}개를 2차원으로 투영한 단면, {run}의 현재 점 잔차 {pct}.",
  "surface.start": "시작점",
  "surface.minimum": "최솟값",
  "surface.arrow_full": "−∇L (전체 데이터)",
  "surface.arrow_batch": "−∇L_B (이 배치)",
  "surface.angle": "{run}, 이터레이션 {i}: −∇L 과 −∇L_B 사이 각도 = {deg}°",
  "surface.ghost": "L_B = {v}",
  "surface.batch_contours": "점선: 이 배치만의 손실",
  "surface.no_batch": "배치 곡면은 정확한 (매개변수 두 개) 곡면에서만 볼 수 있습니다.",
  "surface.loss": "손실",

  "lr.limit": "2/λ_max = {v}",
  "lr.warn": "학습률이 2/λ_max = {v} 보다 큼: 전체 배치는 발산합니다",
  "lr.limit_title": "2/λ_max 보다 크면 MSE의 전체 배치 경사하강법은 발산합니다",

  "loss.title": "손실",
  "loss.x": "가로축",
  "loss.x.iterations": "이터레이션",
  "loss.x.epochs": "에폭",
  "loss.x.samples": "본 샘플 수",
  "loss.log": "로그 눈금",
  "loss.key": "가는 선 = 배치 손실 L_B · 굵은 선 = 전체 데이터 손실 L",
  "loss.y": "손실",
  "loss.batch": "배치 손실",
  "loss.full": "전체 데이터 손실",

  "data.title": "데이터 + 현재 모델",
  "data.run": "실행",
  "data.class": "클래스 {k}",
  "data.data": "데이터",
  "data.prediction": "예측",
  "data.p": "p(클래스 1)",
  "data.winner": "예측한 클래스",

  "step.title": "한 단계 자세히 보기",
  "step.sub": "{run} · 이터레이션 {i} · 에폭 {e}",
  "step.empty": "살펴보는 실행의 가장 최근 이터레이션이 여기에 나옵니다.",
  "step.forward": "순전파",
  "step.loss": "손실 계산",
  "step.backward": "역전파",
  "step.update": "갱신 (경사하강법)",
  "step.first": "배치 {n}개 중 처음 {k}개",
  "step.batch_of": "이 배치 {n}개의 {loss}",
  "step.full": "전체 데이터",
  "step.grad_batch": "배치 기울기",
  "step.grad_full": "전체 데이터 기울기",
  "step.norm": "‖∇L_B‖ = {v}",
  "step.params_first": "매개변수 {n}개 중 처음 {k}개",
  "step.rule.sgd": "새 가중치 = 현재 가중치 − 학습률 × ∂손실/∂가중치",
  "step.rule.momentum": "모멘텀: v = 0.9·v − 학습률 × ∂L/∂w, w = w + v",
  "step.rule.adam": "Adam: 기울기의 이동 평균으로 가중치마다 다른 보폭",
  "step.angle": "두 기울기 사이 각도 {deg}°",
  "step.model": "매개변수 {n}개",

  "help.title.loop": "신경망 학습 과정",
  "help.loop": "이터레이션 한 번은 배치 하나에 대한 네 단계입니다. 1 순전파: 입력 × 가중치 + 편향을 활성화 함수에 통과시켜 출력 ŷ 를 얻습니다. 2 손실 계산: 손실함수가 ŷ 와 정답의 차이를 잽니다. 3 역전파: 편미분과 연쇄 법칙으로 가중치마다 ∂L/∂w 를 구합니다. 4 갱신 (경사하강법): 새 가중치 = 현재 가중치 − 학습률 × ∂L/∂w. 학습 기준을 만족할 때까지 1-4 를 반복합니다.",
  "help.title.loss": "과제별 손실함수",
  "help.loss": "회귀 → MAE, MSE. 이진 분류 → binary_crossentropy. 다중 분류 → categorical_crossentropy (원-핫 레이블) 또는 sparse_categorical_crossentropy (정수 레이블). 목록에는 데이터셋의 과제에 맞는 손실함수만 나옵니다.",
  "help.title.batch": "작은 배치, 큰 배치",
  "help.batch": "전체 배치 경사하강법은 갱신할 때마다 모든 데이터를 씁니다: 경로는 매끄럽지만 데이터가 크면 느리고 메모리를 많이 씁니다. 확률적 경사 하강법 (SGD) 은 갱신마다 샘플 하나를 씁니다: 갱신은 매우 빠르지만 경로가 불안정하게 지그재그합니다. 미니 배치는 갱신마다 N개 (N = 배치 사이즈, 보통 2의 거듭제곱) 를 쓰는 절충안입니다. 작은 배치: 불안정하고 이터레이션이 많이 필요하지만 지역 최솟값을 벗어날 가능성이 큽니다. 큰 배치: 안정적이고 빠르지만 너무 크면 메모리가 부족합니다.",
  "help.title.epoch": "에폭과 이터레이션",
  "help.epoch": "이터레이션 한 번에 가중치가 한 번 갱신됩니다. 모든 데이터를 한 번 다 보면 1 에폭입니다. 데이터 크기 = 배치 사이즈 × 에폭당 이터레이션 수. 예: 데이터 1,000개, 배치 사이즈 100 → 에폭당 이터레이션 10회; epochs = 5 → 이터레이션 50회.",
  "help.title.lr": "학습률",
  "help.lr": "갱신은 기울기의 반대 방향으로 한 걸음 갑니다: 새 가중치 = 현재 가중치 − 학습률 × ∂L/∂w. 너무 작으면 느리고, 너무 크면 최솟값을 지나쳐 손실이 폭발합니다 (발산). 매개변수가 두 개인 MSE 에서는 2/λ_max 를 표시합니다: 이보다 크면 전체 배치가 발산합니다.",
  "help.title.speed": "속도와 맞추는 기준",
  "help.speed": "속도는 실행마다 초당 이터레이션 수입니다. 같은 이터레이션 수: 모든 실행이 초당 같은 횟수만큼 갱신합니다. 같은 샘플 수: 모든 실행이 초당 같은 수의 샘플을 처리하므로 (같은 계산량) 전체 배치가 가장 느리게 움직입니다.",

  "err.title": "문제",
  "err.out_of_range": "값이 허용 범위를 벗어났습니다 ({field}).",
  "err.bad_value": "올바르지 않은 값입니다 ({field}).",
  "err.bad_type": "값의 형식이 맞지 않습니다 ({field}).",
  "err.bad_config": "이 설정들은 함께 쓸 수 없습니다.",
  "err.unknown_field": "서버가 모르는 항목입니다 ({field}).",
  "err.unknown_run": "그런 이름의 실행이 없습니다.",
  "err.no_run": "진행 중인 실행이 없습니다: 먼저 시작을 누르세요.",
  "err.not_paused": "한 단계는 일시정지 중에만 됩니다.",
  "err.bad_message": "서버가 메시지를 이해하지 못했습니다.",
  "err.busy": "서버가 바쁩니다: 세션이 너무 많습니다. 잠시 후 다시 시도하세요.",
  "err.connection": "연결이 끊어졌습니다: 다시 연결하는 중…",
  "err.reconnected": "다시 연결되었습니다. 시작을 누르세요.",
  "err.datasets": "데이터셋 목록을 불러오지 못했습니다.",
  "err.hidden": "은닉층: 1-32 사이의 너비를 쉼표로 구분, 최대 4층 (예: 8,8).",
};

const DICTS = { en, ko };
const STORAGE_KEY = "dp.lang";
let current = "en";
const listeners = [];

function initialLang() {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved && DICTS[saved]) return saved;
  } catch (_) { /* storage may be disabled */ }
  const nav = (navigator.languages && navigator.languages[0]) || navigator.language || "en";
  return nav.toLowerCase().startsWith("ko") ? "ko" : "en";
}

export function lang() { return current; }

/** The label for `key` in the current language, with {name} placeholders filled from vars. */
export function t(key, vars) {
  let s = DICTS[current][key];
  if (s === undefined) s = en[key] !== undefined ? en[key] : key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] === undefined ? m : String(vars[k])));
  return s;
}

/** A dictionary entry if there is one (e.g. a dataset name), else the raw value. */
export function tOr(prefix, value) {
  const key = prefix + value;
  return DICTS[current][key] !== undefined ? DICTS[current][key] : String(value);
}

/** Fill every [data-i18n*] element under root from the dictionary (textContent only). */
export function applyI18n(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", t(el.dataset.i18nAria));
  for (const el of root.querySelectorAll("[data-i18n-ph]")) el.placeholder = t(el.dataset.i18nPh);
  document.documentElement.lang = current;
}

export function setLang(code) {
  if (!DICTS[code]) return;
  current = code;
  try { localStorage.setItem(STORAGE_KEY, code); } catch (_) { /* ignore */ }
  applyI18n();
  for (const fn of listeners) fn(code);
}

export function onLangChange(fn) { listeners.push(fn); }

current = initialLang();
