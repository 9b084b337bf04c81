"""A user's CSV as custom data (`dataset: "custom"`): what the page's paste box and file picker
send to `POST /api/data/csv`.

Columns: ``x,y`` for regression, ``x1,x2,label`` or ``x,label`` for classification (labels 0 to
4); comma, semicolon or tab separated; decimal points; an optional header row. A file with a bad
row is refused as a whole: each problem is a code and a line number (the page says them in its
own language), the first MAX_PROBLEMS of them.
"""

from __future__ import annotations

import re
from typing import Any

from engine.datasets import CUSTOM_MAX_ABS, CUSTOM_MAX_ROWS, LIMITS

MAX_PROBLEMS = 3
MAX_LABEL = LIMITS["n_classes"][1] - 1
_SEPARATOR = re.compile(r"[,;\t]")
# Decimal numbers only: no "nan", "inf", "1_000" (Python's float() would take them) or "1,5".
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


class CsvError(ValueError):
    """Bad rows: `problems` as [{"code", "n" (the line), ...}], the first MAX_PROBLEMS."""

    def __init__(self, problems: list[dict[str, Any]], message: str) -> None:
        super().__init__(message)
        self.problems = problems


def _cells(line: str) -> list[float] | None:
    """A line's numbers, or None if a cell is not a decimal number."""
    cells = [cell.strip() for cell in _SEPARATOR.split(line)]
    if not all(_NUMBER.fullmatch(cell) for cell in cells):
        return None
    return [float(cell) for cell in cells]


def _problem(values: list[float] | None, width: int, regression: bool) -> dict[str, Any] | None:
    """What is wrong with one data row (code "num", "cols" or "lab"), or None."""
    if values is None or any(abs(v) > CUSTOM_MAX_ABS for v in values):
        return {"code": "num"}
    if len(values) != width:
        return {"code": "cols", "k": len(values), "w": width}
    label = values[-1]
    if not (regression and width == 2) and not (label.is_integer() and 0 <= label <= MAX_LABEL):
        return {"code": "lab"}
    return None


def parse_csv(text: str, task: str) -> dict[str, Any]:
    """`{"task", "X", "y"}` from a CSV's text, or CsvError listing the first bad rows.

    `task` is the page's choice: two columns are `x,y` for regression and `x,label` otherwise;
    three columns are always `x1,x2,label`. Classification comes out binary for labels 0 and 1,
    multiclass for more.
    """
    rows: list[list[float]] = []
    problems: list[dict[str, Any]] = []
    count = width = 0
    regression = task == "regression"
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        values = _cells(line)
        if values is None and not width and not count:
            width = -1  # the header
            continue
        if width <= 0:
            width = len(values) if values and (len(values) == 3 or not regression) else 2
            width = min(width, 3) if width > 1 else 2
        problem = _problem(values, width, regression)
        if problem:
            count += 1
            if len(problems) < MAX_PROBLEMS:
                problems.append({**problem, "n": n})
        else:
            rows.append(values)  # type: ignore[arg-type]
    if problems:
        lines = ", ".join(f"line {p['n']} ({p['code']})" for p in problems)
        raise CsvError(problems, f"{count} bad row(s), so none was read: {lines}")
    if not 1 <= len(rows) <= CUSTOM_MAX_ROWS:
        raise CsvError([{"code": "many", "n": len(rows)}],
                       f"{len(rows)} rows; a data set has 1 to {CUSTOM_MAX_ROWS}")
    if regression and width == 2:
        return {"task": "regression", "X": [r[:1] for r in rows], "y": [r[1] for r in rows]}
    labels = [int(r[-1]) for r in rows]
    return {"task": "binary" if max(labels) <= 1 else "multiclass",
            "X": [r[:-1] for r in rows], "y": labels}
