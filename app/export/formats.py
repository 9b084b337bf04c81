"""An export as a file: CSV (one row per iteration per run and repeat) or JSON (what the socket sent).

Both are data, the same in every language: the CSV's header is the language-neutral field names
of CSV_COLUMNS (then `param_<name>` per parameter, then `dataset`), never translated, so scripts and
spreadsheets can rely on it; run names are written as the config spells them. Only the HTML
report (app/export/report.py) follows the page's language.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from app.core.schemas import TrainConfig
from app.core.settings import Settings
from app.core.wire import encode_bytes
from app.export.compute import ExportRequest, compute, compute_report
from app.export.report import to_html
from app.live.race import DEFAULT_LIMITS

FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json",
           "html": "text/html; charset=utf-8"}
CSV_COLUMNS = ("run", "iteration", "epoch", "batch_size", "samples", "batch_loss", "loss",
               "status", "x", "y")
#: The last column: the config's dataset on every row ("custom" for a user's own points).
DATASET_COLUMN = "dataset"
ENCODE_NUMBERS = 50_000  # numbers per encoder call (~2 ms of GIL each)


def filename(config: TrainConfig, fmt: str) -> str:
    """The download's file name: descent-<dataset>-seed<seed>.<fmt>."""
    return f"descent-{config.dataset}-seed{config.seed}.{fmt}"


def json_chunks(result: Mapping[str, Any]) -> Iterator[bytes]:
    """Strict, compact JSON (never NaN or Infinity: orjson writes them as null), as the socket
    sends it, in pieces. A slice of points at a time: one encoder call holds the GIL throughout,
    and over a whole 60 MB answer it would stall the event loop for ~100 ms."""
    yield b"{"
    for i, (key, value) in enumerate(result.items()):
        yield (b"," if i else b"") + encode_bytes(key) + b":"
        if key != "runs":
            yield encode_bytes(value)
            continue
        yield b"{"
        for j, (name, points) in enumerate(value.items()):
            yield (b"," if j else b"") + encode_bytes(name) + b":["
            size = len(points[0]["params"]) + 10 if points else 1
            step = max(1, ENCODE_NUMBERS // size)
            for k in range(0, len(points), step):
                yield (b"," if k else b"") + encode_bytes(points[k:k + step])[1:-1]
            yield b"]"
        yield b"}"
    yield b"}"


def _cell(value: Any) -> Any:
    return "" if value is None else value


def to_csv(result: Mapping[str, Any]) -> str:
    """One row per iteration per run; UTF-8 with a BOM so spreadsheets read Korean names."""
    names = result["started"]["model"]["param_names"]
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\n")
    # with repeats, a `repeat` column (0-based) after `run`: each repeat's rows in order
    repeats = result["config"].get("repeats", 1) > 1
    columns = [*CSV_COLUMNS[:1], "repeat", *CSV_COLUMNS[1:]] if repeats else list(CSV_COLUMNS)
    writer.writerow([*columns, *(f"param_{name}" for name in names), DATASET_COLUMN])
    dataset = result["config"]["dataset"]
    for run, points in result["runs"].items():
        for p in points:
            x, y = p["xy"]
            row = [run, p["iteration"], p["epoch"], p["batch_size"], p["samples"],
                   p["batch_loss"], p["loss"], p["status"], x, y, *p["params"], dataset]
            if repeats:
                row.insert(1, p["repeat"])
            writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def export(fmt: str, request: ExportRequest,
           limits: Settings = DEFAULT_LIMITS) -> Iterable[bytes]:
    """The export in format `fmt` ("csv", "json" or "html"), as pieces of UTF-8."""
    lr_map = {"lr_map": request.lr_map.model_dump()} if request.lr_map is not None else {}
    if fmt == "html":
        report = compute_report(request.config, request.iterations, limits)
        return [to_html({**report, **lr_map}, request.lang).encode()]
    result = {**compute(request.config, request.iterations, limits), **lr_map}
    return json_chunks(result) if fmt == "json" else [to_csv(result).encode()]
