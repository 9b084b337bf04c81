"""Pydantic schemas: the training config and the socket's client messages, with their bounds.

Every bound lives here, once. A validation error becomes one readable sentence that names the
field and the allowed range (`error_message`), for the page to show and translate by `code`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from engine.datasets import CUSTOM_MAX_ABS, CUSTOM_MAX_ROWS, DATASETS, LIMITS
from engine.descent import DEFAULT_RUNS as ENGINE_DEFAULT_RUNS
from engine.descent import UPDATE_RULES
from engine.layers import ACTIVATIONS
from engine.losses import LOSSES, TASKS, get_task

MAX_SAMPLES = 5000
MAX_EPOCHS = 1000
MAX_LR = 10.0
MAX_SPEED = 10_000
MAX_RUNS = 6
MAX_HIDDEN_LAYERS = 4
MAX_WIDTH = 16
MAX_SEED = 2**32 - 1
MAX_TARGET_LOSS = 1e6
MAX_BATCH = 100_000
MAX_CHOICES = 6  # a class vote: 2 to 6 choices of at most 80 characters, a prompt of at most 200
MAX_CHOICE_CHARS = 80
MAX_PROMPT_CHARS = 200
MAX_LESSON_STEPS = 50
MAX_SWEEP_LRS = 24  # the learning-rate map: learning rates x batch sizes
MAX_SWEEP_BATCHES = 8
MAX_SWEEP_ID = 2**31 - 1
MAX_REPEATS = 10
#: Characters of a client's value an error message quotes (its repr), at most.
ECHO_CHARS = 80


def echo(value: Any, limit: int = ECHO_CHARS) -> str:
    """`value`'s repr for an error message, cut to `limit` characters with an ellipsis."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _not_bool(value: Any) -> Any:
    # JSON's true/false would pass as 1/0 (bool is an int in Python): never a number here.
    if isinstance(value, bool):
        raise PydanticCustomError("bool_not_number", "a boolean is not a number")
    return value


#: Numbers of the config and messages: JSON true/false refused, a link's text still converted.
NotBool = BeforeValidator(_not_bool)


def Int(lo: int, hi: int) -> Any:  # noqa: N802 - a type, spelled like one
    """An integer in [lo, hi] (a boolean is refused)."""
    return Annotated[int, NotBool, Field(ge=lo, le=hi)]


def Float(**bounds: float) -> Any:  # noqa: N802
    """A finite number within `bounds` (gt/ge/le of Field; a boolean is refused)."""
    return Annotated[float, NotBool, Field(**bounds)]


class ConfigError(ValueError):
    """A config that does not hold together; `field` names the field to blame, `code` the kind."""

    def __init__(self, field: str, message: str, code: str = "bad_value") -> None:
        super().__init__(message)
        self.field, self.code = field, code


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class RunConfig(_Strict):
    """One contestant: a name and a batch size (null = full batch), optionally its own lr."""

    name: Annotated[str, Field(min_length=1, max_length=40)]
    batch_size: Int(1, MAX_BATCH) | None
    lr: Float(gt=0, le=MAX_LR) | None = None
    update: Literal[tuple(UPDATE_RULES)] = "sgd"  # type: ignore[valid-type]

    @field_validator("name")
    @classmethod
    def _printable(cls, name: str) -> str:
        name = name.strip()
        if not name or not name.isprintable():
            raise ValueError("a run name must be printable text")
        return name


#: The dataset name of a user's own points (`TrainConfig.data`).
CUSTOM = "custom"
CUSTOM_VALUE = f"a finite number with |v| <= {CUSTOM_MAX_ABS:.0f}"
MIN_CLASSES, MAX_CLASSES = LIMITS["n_classes"]


def _number(field: str, value: Any) -> float:
    """`value` as a float if it is a JSON number within CUSTOM_MAX_ABS, else ConfigError."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(field, f"must be {CUSTOM_VALUE}, got {echo(value, 40)}", "bad_type")
    if not abs(value) <= CUSTOM_MAX_ABS:  # also NaN, should one get this far
        raise ConfigError(field, f"must be {CUSTOM_VALUE}, got {echo(value, 40)}",
                          "out_of_range")
    return float(value)


def _rows(X: Any) -> list[list[float]]:
    """The feature rows, checked: 1 to CUSTOM_MAX_ROWS rows of 1 or 2 numbers, all alike."""
    if not isinstance(X, list) or not 1 <= len(X) <= CUSTOM_MAX_ROWS:
        got = f", got {len(X)}" if isinstance(X, list) else ""
        raise ConfigError("X", f"must be a list of 1 to {CUSTOM_MAX_ROWS} rows{got}",
                          "out_of_range" if isinstance(X, list) else "bad_type")
    width = len(X[0]) if isinstance(X[0], list) else 0
    rows = []
    for i, row in enumerate(X):
        if not isinstance(row, list) or len(row) not in (1, 2) or len(row) != width:
            want = "1 or 2 numbers" if i == 0 else f"{width} numbers, as the first row"
            raise ConfigError(f"X[{i}]", f"must be a list of {want}, got {echo(row, 40)}",
                              "bad_value" if isinstance(row, list) else "bad_type")
        rows.append([_number(f"X[{i}][{j}]", v) for j, v in enumerate(row)])
    return rows


def _label(field: str, value: Any, k: int) -> int:
    """A class label: an integer (or a float equal to one) in [0, k)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(field, f"must be a class label 0 to {k - 1}, got {echo(value, 40)}",
                          "bad_type")
    if not (isinstance(value, int) or value.is_integer()) or not 0 <= value < k:
        raise ConfigError(field, f"must be a class label 0 to {k - 1}, got {echo(value, 40)}",
                          "out_of_range")
    return int(value)


def _targets(task: str, y: Any, n: int) -> list[float] | list[int]:
    """The targets, checked against the task: numbers, {0, 1} with both, or 3 to 5 classes."""
    if not isinstance(y, list) or len(y) != n:
        got = f", got {len(y)}" if isinstance(y, list) else ""
        raise ConfigError("y", f"must be a list of {n} targets, one per row of X{got}",
                          "bad_value" if isinstance(y, list) else "bad_type")
    if task == "regression":
        return [_number(f"y[{i}]", v) for i, v in enumerate(y)]
    k = 2 if task == "binary" else MAX_CLASSES
    labels = [_label(f"y[{i}]", v, k) for i, v in enumerate(y)]
    found = max(labels) + 1
    if task == "multiclass" and found < MIN_CLASSES:
        raise ConfigError("y", f"multiclass data needs {MIN_CLASSES} to {MAX_CLASSES} classes "
                          f"(labels 0 to k-1), got {found}", "out_of_range")
    missing = sorted(set(range(found if task == "multiclass" else 2)) - set(labels))
    if missing:
        raise ConfigError("y", f"every class 0 to {max(found, 2) - 1} needs a point; "
                          f"none has label {', '.join(map(str, missing))}", "missing_class")
    return labels


class CustomData(_Strict):
    """A user's own points: the task, rows X (1 or 2 features), targets y; every bound checked.

    X and y are checked by hand (not by pydantic's coercion): a string, null, boolean or list
    where a number belongs is an error naming its place, e.g. `X[12][0]`.
    """

    task: Literal[tuple(TASKS)]  # type: ignore[valid-type]
    X: Any
    y: Any
    standardize: Annotated[bool, Field(strict=True)] = True

    @model_validator(mode="after")
    def _bounds(self) -> CustomData:
        self.X = _rows(self.X)
        self.y = _targets(self.task, self.y, len(self.X))
        return self


#: The engine's default contestants (SGD, mini-batch, full batch), as configs.
DEFAULT_RUNS = tuple(RunConfig(name=run.name, batch_size=run.batch_size, lr=run.lr,
                               update=run.update) for run in ENGINE_DEFAULT_RUNS)


class TrainConfig(_Strict):
    """A comparison's whole config; every field optional. The defaults: the classic w·x + b demo.

    `dataset: "custom"` trains on `data` (a user's own points); then `n_samples` and `noise`
    do not apply and resolve to null, and `n_classes` to the labels' count (multiclass).
    """

    dataset: str = "linear"
    n_samples: Int(1, MAX_SAMPLES) | None = 100
    noise: Float(ge=LIMITS["noise"][0], le=LIMITS["noise"][1]) | None = None
    n_classes: Int(*LIMITS["n_classes"]) | None = None
    seed: Int(0, MAX_SEED) = 0
    hidden: Annotated[
        list[Int(1, MAX_WIDTH)], Field(max_length=MAX_HIDDEN_LAYERS)
    ] = []
    activation: str = "tanh"
    loss: str | None = None
    lr: Float(gt=0, le=MAX_LR) = 0.2
    epochs: Int(1, MAX_EPOCHS) = 20
    speed: Float(ge=0, le=MAX_SPEED) = 30
    pacing: Literal["iterations", "samples"] = "iterations"
    target_loss: Float(ge=0, le=MAX_TARGET_LOSS) | None = None
    patience: Int(1, MAX_EPOCHS) | None = None
    # Each run trained this many times from the same start on the same data, shuffled anew
    # (repeat 0 with `seed`): SGD's luck shows as a band.
    repeats: Int(1, MAX_REPEATS) = 1
    runs: Annotated[list[RunConfig], Field(min_length=1, max_length=MAX_RUNS)] = list(DEFAULT_RUNS)
    data: CustomData | None = None

    @property
    def custom(self) -> bool:
        return self.dataset == CUSTOM

    @property
    def task(self) -> str:
        """regression, binary or multiclass: the data's task."""
        return self.data.task if self.data is not None else DATASETS[self.dataset].task

    @property
    def n_features(self) -> int:
        return len(self.data.X[0]) if self.data is not None else DATASETS[self.dataset].n_features

    @property
    def rows(self) -> int:
        """The number of samples trained on."""
        return len(self.data.X) if self.data is not None else int(self.n_samples or 0)

    @field_validator("dataset")
    @classmethod
    def _known_dataset(cls, name: str) -> str:
        if name not in DATASETS and name != CUSTOM:
            raise ValueError(f"unknown dataset {echo(name)}; choose one of: "
                             f"{', '.join([*DATASETS, CUSTOM])}")
        return name

    @field_validator("activation")
    @classmethod
    def _known_activation(cls, name: str) -> str:
        if name not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {echo(name)}; choose one of: {', '.join(ACTIVATIONS)}"
            )
        return name

    @model_validator(mode="after")
    def _fits_dataset(self) -> TrainConfig:
        self._fits_data()
        task = get_task(self.task)
        if self.loss is None:
            self.loss = task.default_loss
        elif self.loss not in LOSSES:
            raise ConfigError(
                "loss", f"unknown loss {echo(self.loss)}; choose one of: {', '.join(LOSSES)}"
            )
        elif self.loss not in task.losses:
            raise ConfigError(
                "loss",
                f"loss {self.loss!r} does not fit {self.task} data ({self.dataset}); "
                f"use {' or '.join(task.losses)}",
            )
        if not self.custom:
            self._fits_generator()
        names = [r.name for r in self.runs]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ConfigError("runs", f"run names must be unique; repeated: {', '.join(repeated)}")
        return self

    def _fits_data(self) -> None:
        """`data` iff custom; custom data resolves n_samples and noise to null (they do not
        apply to given points) and n_classes to the labels' count (multiclass)."""
        if not self.custom:
            if self.data is not None:
                raise ConfigError("data", f'applies to dataset "custom" only, not {self.dataset}')
            return
        if self.data is None:
            raise ConfigError("data", 'is required when dataset is "custom": '
                              '{"task", "X", "y", "standardize"}')
        self.n_samples = self.noise = None
        multiclass = self.data.task == "multiclass"
        self.n_classes = max(self.data.y) + 1 if multiclass else None

    def _fits_generator(self) -> None:
        """A built-in set: n_samples given, noise and n_classes resolved."""
        if self.n_samples is None:
            raise ConfigError("n_samples", f"must be {_RANGES['n_samples']}, got None",
                              "bad_type")
        spec = DATASETS[self.dataset]
        if self.noise is None:
            self.noise = spec.default_noise
        if spec.has_classes:
            self.n_classes = self.n_classes or 3
        elif self.n_classes is not None:
            raise ConfigError(
                "n_classes", f"n_classes applies to multi-class datasets only, not {self.dataset}"
            )


class LessonRef(_Strict):
    """The lesson step a start shows (`?lesson=ID&step=K`): its `started` names it to viewers."""

    id: Annotated[str, Field(min_length=1, max_length=64)]
    step: Int(1, MAX_LESSON_STEPS)


class StartMessage(_Strict):
    type: Literal["start"]
    config: TrainConfig = Field(default_factory=TrainConfig)
    paused: bool = False  # set up everything (surface, data, start point) but wait for resume
    lesson: LessonRef | None = None


class SweepRequest(_Strict):
    """The learning-rate map's question (`POST /api/sweep`): a config, and the learning rates and
    batch sizes (null = full batch) to train it with, each pair from the same start."""

    config: TrainConfig = Field(default_factory=TrainConfig)
    lrs: Annotated[list[Float(gt=0, le=MAX_LR)],
                   Field(min_length=1, max_length=MAX_SWEEP_LRS)]
    batch_sizes: Annotated[list[Int(1, MAX_BATCH) | None],
                           Field(min_length=1, max_length=MAX_SWEEP_BATCHES)]

    @model_validator(mode="after")
    def _distinct(self) -> SweepRequest:
        for name in ("lrs", "batch_sizes"):
            values = getattr(self, name)
            if len(set(values)) < len(values):
                raise ConfigError(name, f"{name} must not repeat a value, got {echo(values)}")
        return self


class SweepMessage(SweepRequest):
    """The map over the training socket; `id` comes back in its `sweep_progress`/`_result`."""

    type: Literal["sweep"]
    id: Int(0, MAX_SWEEP_ID) = 0


class ReprojectMessage(_Strict):
    type: Literal["reproject"]
    method: Literal["pca", "random"] = "pca"


class SpeedMessage(_Strict):
    type: Literal["speed"]
    value: Float(ge=0, le=MAX_SPEED)


class InspectMessage(_Strict):
    type: Literal["inspect"]
    run: Annotated[str, Field(min_length=1, max_length=40)]
    batch_surface: bool = False


class BareMessage(_Strict):
    type: Literal["pause", "resume", "step", "stop", "end_presentation", "reveal",
                  "close_question"]


class PresentMessage(_Strict):
    type: Literal["present"]
    room: Annotated[str, Field(min_length=1, max_length=12)]
    token: Annotated[str, Field(min_length=1, max_length=100)]


def Text(most: int) -> Any:  # noqa: N802
    """Text of 1 to `most` characters, trimmed (blank text is refused)."""
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=most)]


class Question(_Strict):
    """A class vote's question, as the presenter typed it."""

    prompt: Text(MAX_PROMPT_CHARS)
    choices: Annotated[list[Text(MAX_CHOICE_CHARS)], Field(min_length=2, max_length=MAX_CHOICES)]


class AskMessage(_Strict):
    type: Literal["ask"]
    question: Question


class VoteMessage(_Strict):
    """The one message a room's viewer may send (on /ws/room/CODE, not /ws/train)."""

    type: Literal["vote"]
    id: Annotated[str, Field(min_length=1, max_length=32)]
    choice: Int(0, MAX_CHOICES - 1)


MESSAGES: dict[str, type[BaseModel]] = {
    "start": StartMessage,
    "speed": SpeedMessage,
    "inspect": InspectMessage,
    "pause": BareMessage,
    "resume": BareMessage,
    "step": BareMessage,
    "stop": BareMessage,
    "present": PresentMessage,
    "reproject": ReprojectMessage,
    "sweep": SweepMessage,
    "end_presentation": BareMessage,
    "ask": AskMessage,
    "reveal": BareMessage,
    "close_question": BareMessage,
}


# -- readable errors -----------------------------------------------------------------------------
def describe(error: dict[str, Any], prefix: str = "") -> tuple[str, str, str]:
    """(field path, message, code) for one pydantic error, naming the allowed range."""
    loc = ".".join(
        str(part) for part in error.get("loc", ()) if not str(part).startswith("function-")
    )
    field = f"{prefix}{loc}" if loc else prefix.rstrip(".") or "message"
    kind = error.get("type", "")
    got = error.get("input")
    got_text = "" if isinstance(got, dict | list) else f", got {echo(got, 40)}"
    ranges = _range_of(loc.split(".") if loc else [])
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal") and ranges:
        return field, f"{field} must be {ranges}{got_text}", "out_of_range"
    if kind in ("too_long", "too_short", "string_too_long", "string_too_short") and ranges:
        return field, f"{field} must be {ranges}", "out_of_range"
    if kind == "extra_forbidden":
        return field, f"{field} is not a known field", "unknown_field"
    if kind == "literal_error":
        return field, f"{field}: {error.get('msg')}{got_text}", "bad_value"
    if kind == "value_error":
        msg = str(error.get("msg", "")).removeprefix("Value error, ")
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, ConfigError):
            field = f"{field}.{cause.field}" if loc else f"{prefix}{cause.field}"
            return field, f"{field}: {msg}", cause.code
        return field, f"{field}: {msg}", "bad_value"
    if ranges and kind != "string_pattern_mismatch":  # (a lesson's `id` is not a sweep's)
        return field, f"{field} must be {ranges}{got_text}", "bad_type"
    return field, f"{field}: {error.get('msg')}{got_text}", "bad_type"


_RANGES: dict[str, str] = {
    "n_samples": f"an integer in [1, {MAX_SAMPLES}]",
    "noise": f"a number in [{LIMITS['noise'][0]}, {LIMITS['noise'][1]}]",
    "n_classes": f"an integer in [{LIMITS['n_classes'][0]}, {LIMITS['n_classes'][1]}]",
    "seed": f"an integer in [0, {MAX_SEED}]",
    "hidden": f"a list of at most {MAX_HIDDEN_LAYERS} layer widths, each an integer in [1, {MAX_WIDTH}]",
    "lr": f"a number in (0, {MAX_LR:g}]",
    "epochs": f"an integer in [1, {MAX_EPOCHS}]",
    "speed": f"a number in [0, {MAX_SPEED}] (iterations per second; 0 = as fast as possible)",
    "value": f"a number in [0, {MAX_SPEED}] (iterations per second; 0 = as fast as possible)",
    "target_loss": f"a number in [0, {MAX_TARGET_LOSS:.0f}] or null",
    "patience": f"an integer in [1, {MAX_EPOCHS}] or null",
    "repeats": f"an integer in [1, {MAX_REPEATS}]",
    "runs": f"a list of 1 to {MAX_RUNS} runs",
    "batch_size": f"an integer in [1, {MAX_BATCH}], or null for full batch",
    "name": "text of 1 to 40 characters",
    "prompt": f"text of 1 to {MAX_PROMPT_CHARS} characters",
    "choices": f"a list of 2 to {MAX_CHOICES} choices, each text of 1 to {MAX_CHOICE_CHARS} "
               "characters",
    "choice": f"an integer in [0, {MAX_CHOICES - 1}] (the choice's index)",
    "step": f"an integer in [1, {MAX_LESSON_STEPS}] (a lesson's step)",
    "lrs": f"a list of 1 to {MAX_SWEEP_LRS} learning rates, each a number in (0, {MAX_LR:g}]",
    "batch_sizes": f"a list of 1 to {MAX_SWEEP_BATCHES} batch sizes, each an integer in "
                   f"[1, {MAX_BATCH}] or null for full batch",
    "id": f"an integer in [0, {MAX_SWEEP_ID}]",
}


#: The range of one entry of a list field (lrs.3), where it differs from the list's own.
_ITEM_RANGES: dict[str, str] = {
    "lrs": f"a number in (0, {MAX_LR:g}]",
    "batch_sizes": f"an integer in [1, {MAX_BATCH}], or null for full batch",
}


def _range_of(loc: list[str]) -> str | None:
    """The allowed range of the field at `loc` (an entry of a list: its item's range)."""
    names = [part for part in loc if not part.isdigit()]
    if not names:
        return None
    if loc[-1].isdigit() and names[-1] in _ITEM_RANGES:
        return _ITEM_RANGES[names[-1]]
    return _RANGES.get(names[-1])


def form_bounds() -> dict[str, list[float]]:
    """The [low, high] of each field the page's form types, from the bounds above: the page checks
    a value and names its range before it sends it. `lr`'s low end is excluded (lr > 0)."""
    return {
        "n_samples": [1, MAX_SAMPLES], "noise": list(LIMITS["noise"]),
        "n_classes": list(LIMITS["n_classes"]), "seed": [0, MAX_SEED],
        "hidden": [1, MAX_WIDTH], "hidden_layers": [0, MAX_HIDDEN_LAYERS], "lr": [0, MAX_LR],
        "epochs": [1, MAX_EPOCHS], "target_loss": [0, MAX_TARGET_LOSS],
        "patience": [1, MAX_EPOCHS], "batch_size": [1, MAX_BATCH], "repeats": [1, MAX_REPEATS],
    }


def first_error(exc: ValidationError, prefix: str = "") -> tuple[str, str, str]:
    """The first error of a ValidationError as (field, message, code)."""
    err = exc.errors(include_url=False)[0]
    loc = [str(p) for p in err.get("loc", ())]
    # hidden.1 -> describe with the range of "hidden"
    if len(loc) >= 2 and loc[-1].isdigit():
        ranges = _range_of(loc)
        if ranges:
            field = prefix + ".".join(loc)
            got = err.get("input")
            return field, f"{field} must be {ranges}, got {echo(got, 40)}", "out_of_range"
    return describe(err, prefix)
