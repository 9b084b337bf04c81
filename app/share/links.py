"""Share links: a whole TrainConfig in the page's URL query (the address: app/share/address.py).

The query uses the config's field names as keys, in the model's field order::

    dataset=moons&n_samples=100&noise=0.4&seed=7&hidden=8,8&activation=tanh
    &loss=binary_crossentropy&lr=0.1&epochs=20&speed=30&pacing=iterations
    &runs=SGD:1,Mini-batch:32,Full%20batch:full

- scalars are plain values (floats in their shortest exact form, so they round-trip bit for bit);
- ``hidden`` is a comma list of widths (empty: no hidden layer);
- ``runs`` is a comma list of ``NAME:BATCH[:lr=X][:update=U]``, BATCH an integer or ``full``;
  ``update`` is written only when it is not ``sgd``;
- ``n_classes``, ``target_loss`` and ``patience`` are left out when null, ``repeats`` when 1
  (so a link written before repeats existed reads, and is written, as it was);
- ``data`` (custom points) is ``TASK:STANDARDIZE:ROWS``, STANDARDIZE ``1`` or ``0``, ROWS joined
  by ``_``, each row its features then its target joined by ``,`` (``binary:1:0.5,1.25,0_2,3,1``),
  numbers in their shortest exact form, so a replay is bit-identical. A set of more than
  LINK_MAX_POINTS points is left out: the link keeps the
  rest of the config, and reading ``dataset=custom`` without ``data`` says to load the saved file;
- ``autoplay=1``, ``lang=ko|en`` and ``lesson=ID&step=K`` (the lesson step on screen) are page
  options, not config (see `page_options`).

Run names: before the URL's own percent-encoding, a name's ``%``, ``,`` and ``:`` are escaped as
``%25``, ``%2C`` and ``%3A`` (so ``A,B`` appears as ``A%252CB`` in the link); every other
character, spaces and Korean included, only gets the URL's ordinary encoding
(``Full%20batch``, ``%ED%95%9C``).

Reading a link never raises: a value that is bad, unknown or out of range falls back to its
default and yields a `Notice` naming the field, the value and the reason. The bounds are
TrainConfig's own (app/core/schemas.py): each field is validated alone, then the combination.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from pydantic import BaseModel, ValidationError

from app.core.schemas import CUSTOM, CustomData, RunConfig, TrainConfig, echo, first_error

#: Longest value read from a link; a whole valid `runs` value stays far below it.
MAX_VALUE_CHARS = 2000
#: Custom points a link carries at most (a bigger set is shared as a saved JSON file), and the
#: longest `data` value read: 200 rows of three 24-character numbers (-1.2345678901234567e-100)
#: and their separators stay below it, so every link written is read back.
LINK_MAX_POINTS = 200
MAX_DATA_CHARS = 16_000
#: Unknown keys reported one by one; the rest share one notice.
MAX_UNKNOWN_NOTICES = 10
#: Characters a notice quotes from the link.
NOTICE_VALUE_CHARS = 80

PAGE_OPTIONS = ("autoplay", "lang", "lesson", "step")
LANGUAGES = ("ko", "en")
FULL = "full"
#: Left as they are by the URL encoding: separators of `hidden` and `runs`.
_URL_SAFE = ",:="
#: Escaped inside a run name before the URL encoding.
_NAME_ESCAPES = {"%": "%25", ",": "%2C", ":": "%3A"}
_NULLABLE = frozenset({"noise", "n_classes", "loss", "target_loss", "patience"})
_RUN_OPTIONS = ("lr", "update")


@dataclass(frozen=True)
class Notice:
    """One thing a link asked for that was ignored, and why (`code` as in app.core.schemas)."""

    field: str
    value: str
    message: str
    code: str = "bad_value"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _notice(field: str, value: str, message: str, code: str = "bad_value") -> Notice:
    short = value if len(value) <= NOTICE_VALUE_CHARS else value[: NOTICE_VALUE_CHARS - 3] + "..."
    return Notice(field=field, value=short, message=message, code=code)


# -- config -> query ---------------------------------------------------------------------------
def _number(value: float | int) -> str:
    """The shortest text that parses back to exactly `value`."""
    if isinstance(value, int):
        return str(value)
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _escape_name(name: str) -> str:
    """A run name with the `runs` separators (and %) percent-escaped."""
    return "".join(_NAME_ESCAPES.get(ch, ch) for ch in name)


def _run_text(run: RunConfig) -> str:
    parts = [_escape_name(run.name), FULL if run.batch_size is None else str(run.batch_size)]
    if run.lr is not None:
        parts.append(f"lr={_number(run.lr)}")
    if run.update != "sgd":
        parts.append(f"update={run.update}")
    return ":".join(parts)


def _data_text(data: CustomData) -> str | None:
    """Custom points as `TASK:1:x,y_x,y...`, or None when too many for a link."""
    if len(data.X) > LINK_MAX_POINTS:
        return None
    rows = "_".join(",".join(_number(v) for v in (*x, t)) for x, t in zip(data.X, data.y,
                                                                           strict=True))
    return f"{data.task}:{int(data.standardize)}:{rows}"


def data_in_link(config: TrainConfig) -> bool:
    """Whether the config's custom points (if any) fit in its share link."""
    return config.data is None or _data_text(config.data) is not None


def _field_text(config: TrainConfig, name: str) -> str | None:
    """One field as link text, or None to leave it out."""
    value = getattr(config, name)
    if name == "data":
        return None if value is None else _data_text(value)
    if name == "hidden":
        return ",".join(str(width) for width in value)
    if name == "runs":
        return ",".join(_run_text(run) for run in value)
    if value is None or (name == "repeats" and value == 1):
        return None
    if isinstance(value, bool | str):
        return str(value)
    return _number(value)


def config_to_query(config: TrainConfig) -> str:
    """The whole config as a URL query (no leading "?"), in TrainConfig's field order."""
    pairs = []
    for name in TrainConfig.model_fields:
        text = _field_text(config, name)
        if text is not None:
            pairs.append(f"{name}={quote(text, safe=_URL_SAFE)}")
    return "&".join(pairs)


# -- query -> config ---------------------------------------------------------------------------
def parse_query(query: str) -> list[tuple[str, str]]:
    """A query string (with or without "?") as decoded (key, value) pairs, blanks kept."""
    return parse_qsl(query.removeprefix("?"), keep_blank_values=True)


def _pairs(params: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    items = params.items() if isinstance(params, Mapping) else params
    return [(str(key), str(value)) for key, value in items]


def _raw_fields(pairs: list[tuple[str, str]], notices: list[Notice]) -> dict[str, str]:
    """The first value of each known config key; notices for the rest."""
    raw: dict[str, str] = {}
    unknown = 0
    for key, value in pairs:
        if key in PAGE_OPTIONS:
            continue
        if key not in TrainConfig.model_fields:
            unknown += 1
            if unknown <= MAX_UNKNOWN_NOTICES:
                notices.append(_notice(key[:NOTICE_VALUE_CHARS], value,
                                       f"{echo(key)} is not a setting; ignored", "unknown_field"))
        elif key in raw:
            notices.append(_notice(key, value, f"{key} is given twice; the first value is used",
                                   "repeated"))
        elif len(value) > (limit := MAX_DATA_CHARS if key == "data" else MAX_VALUE_CHARS):
            notices.append(_notice(key, value, f"{key} is longer than {limit} "
                                   "characters; ignored", "too_long"))
        else:
            raw[key] = value
    if unknown > MAX_UNKNOWN_NOTICES:
        more = unknown - MAX_UNKNOWN_NOTICES
        notices.append(_notice("", "", f"{more} more unknown settings ignored", "unknown_field"))
    return raw


def _without_blamed(
    model: type[BaseModel], values: dict[str, Any], raw: dict[str, str], prefix: str,
    notices: list[Notice],
) -> BaseModel | None:
    """`model` from `values`, dropping each field an error blames (with a notice) until it fits."""
    while True:
        try:
            return model.model_validate(values)
        except ValidationError as exc:
            path, message, code = first_error(exc, prefix)
            blamed = path.removeprefix(prefix).split(".")[0]
            if blamed == "data" and "data" not in values and values.get("dataset") == CUSTOM:
                blamed = "dataset"  # custom without its points: the built-in default instead
                if "data" not in raw:
                    message = (f'dataset "custom": this link does not carry the points (more '
                               f"than {LINK_MAX_POINTS}); load the saved JSON file to see them")
            if blamed not in values:
                return None
            notices.append(_notice(prefix.split(".")[0] or blamed, raw.get(blamed, ""),
                                   message, code))
            del values[blamed]


def _parse_run(index: int, text: str, notices: list[Notice]) -> dict[str, Any] | None:
    """One `NAME:BATCH[:lr=X][:update=U]` item as a valid RunConfig dump, or None."""
    prefix = f"runs.{index}."
    name, *rest = text.split(":")
    if not rest:
        notices.append(_notice("runs", text, f"runs.{index}: {echo(text)} is not NAME:BATCH "
                               "(BATCH an integer or full)"))
        return None
    values: dict[str, Any] = {"name": unquote(name)}
    values["batch_size"] = None if rest[0].strip().lower() == FULL else rest[0]
    raw = {"name": text, "batch_size": text}
    for option in rest[1:]:
        key, sep, value = option.partition("=")
        if not sep or key not in _RUN_OPTIONS:
            notices.append(_notice("runs", text, f"runs.{index}: unknown run option {echo(option)}; "
                                   f"use {' or '.join(o + '=...' for o in _RUN_OPTIONS)}"))
            continue
        if key in values:
            notices.append(_notice("runs", text, f"runs.{index}: {key} is given twice; "
                                   "the first value is used", "repeated"))
            continue
        values[key], raw[key] = value, text
    run = _without_blamed(RunConfig, values, raw, prefix, notices)
    return None if run is None else run.model_dump()


def _parse_runs(text: str, notices: list[Notice]) -> list[dict[str, Any]] | None:
    """The valid runs of a `runs` value; None when every item was bad (already noticed)."""
    items = text.split(",") if text else []
    before = len(notices)
    runs = [run for i, item in enumerate(items) if (run := _parse_run(i, item, notices))]
    return None if not runs and len(notices) > before else runs


def _link_number(text: str) -> Any:
    """A number of `data` (an int stays an int: a class label), or the text for the schema to
    refuse, naming its place."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _data_value(text: str) -> Any:
    """`TASK:STANDARDIZE:ROWS` as the config's `data` object (the text itself if not that)."""
    parts = text.split(":")
    if len(parts) != 3:
        return text
    task, standardize, rows = parts
    X, y = [], []
    for row in rows.split("_") if rows else []:
        *features, target = [_link_number(v) for v in row.split(",")]
        X.append(features)
        y.append(target)
    flag = {"1": True, "0": False}.get(standardize, standardize)
    return {"task": task, "standardize": flag, "X": X, "y": y}


def _field_value(name: str, text: str, notices: list[Notice]) -> Any:
    """A link value as input for TrainConfig (strings: pydantic converts and checks them)."""
    if name == "data":
        return _data_value(text)
    if name == "hidden":
        return [width.strip() for width in text.split(",")] if text.strip() else []
    if name == "runs":
        return _parse_runs(text, notices)
    if name in _NULLABLE and not text.strip():
        return None
    return text


def _valid_fields(raw: dict[str, str], notices: list[Notice]) -> dict[str, Any]:
    """Every field that is valid on its own; a notice for each one that is not."""
    values: dict[str, Any] = {}
    for name, text in raw.items():
        value = _field_value(name, text, notices)
        if name == "runs" and value is None:
            continue
        try:
            TrainConfig.model_validate({name: value})
        except ValidationError as exc:
            if any(err["loc"][:1] == (name,) for err in exc.errors()):
                _, message, code = first_error(exc)
                notices.append(_notice(name, text, message, code))
                continue
        values[name] = value
    return values


def query_to_config(
    params: Mapping[str, str] | Iterable[tuple[str, str]],
) -> tuple[TrainConfig, list[Notice]]:
    """The config a link asks for (bad parts replaced by defaults) and what was ignored."""
    notices: list[Notice] = []
    raw = _raw_fields(_pairs(params), notices)
    values = _valid_fields(raw, notices)
    config = _without_blamed(TrainConfig, values, raw, "", notices)
    if config is None:  # an error that blames no field of the link: cannot happen today
        notices.append(_notice("", "", "these settings do not fit together; using the defaults"))
        config = TrainConfig()
    assert isinstance(config, TrainConfig)
    return config, notices


# -- page options ------------------------------------------------------------------------------
@dataclass(frozen=True)
class PageOptions:
    """The non-config part of a link: start at once, the language asked for (if valid), and the
    lesson step on screen (an id and a step from 1; checked against the lessons by the page)."""

    autoplay: bool = False
    lang: str | None = None
    lesson: str | None = None
    step: int = 1

    def query(self) -> str:
        """These options as a query suffix ("" or "&autoplay=1&lang=ko&lesson=ID&step=K")."""
        parts = ["autoplay=1"] if self.autoplay else []
        parts += [f"lang={self.lang}"] if self.lang else []
        parts += [f"lesson={quote(self.lesson, safe='')}&step={self.step}"] if self.lesson else []
        return "".join("&" + part for part in parts)


def page_options(params: Mapping[str, str] | Iterable[tuple[str, str]]) -> PageOptions:
    """`autoplay` (1/true/yes), `lang` (ko/en; anything else: None), `lesson` and `step` (a
    whole number from 1, else 1) from a link."""
    found = dict(reversed(_pairs(params)))  # the first value of each key wins
    autoplay = found.get("autoplay", "").strip().lower() in ("1", "true", "yes", "on")
    lang = found.get("lang", "").strip().lower()
    lesson = found.get("lesson", "").strip()[:NOTICE_VALUE_CHARS] or None
    step = found.get("step", "").strip()
    return PageOptions(autoplay=autoplay, lang=lang if lang in LANGUAGES else None, lesson=lesson,
                       step=int(step) if step.isdigit() and 0 < len(step) < 4 and int(step) else 1)


def preferred_language(accept_language: str | None) -> str:
    """"ko" if the Accept-Language header prefers Korean over English, else "en"."""
    best: dict[str, tuple[float, int]] = {}
    for position, item in enumerate((accept_language or "").split(",")):
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in LANGUAGES:
            continue
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        best[primary] = max(best.get(primary, (0.0, 0)), (q, -position))
    ko, en = best.get("ko", (0.0, 0)), best.get("en", (0.0, 0))
    return "ko" if ko[0] > 0 and ko > en else "en"


def share_url(base_url: str, config: TrainConfig, options: PageOptions | None = None) -> str:
    """The page's URL for `config` on `base_url`, with the page options appended."""
    suffix = options.query() if options else ""
    return f"{base_url}/?{config_to_query(config)}{suffix}"
