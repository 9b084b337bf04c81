"""The learning-rate map in an export: the `sweep_result` body the page computed for the race's
config (app/live/sweep.py), carried as `lr_map` by the JSON file and shown by the HTML report.

The page sends the map it was given with its export request; the server checks every field (as
it checks a saved file's) and that the cells fit the axes, and passes it on unchanged. The CSV
export stays one row per point: a map is not a point of a run.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.schemas import MAX_BATCH, MAX_LR, MAX_SWEEP_BATCHES, MAX_SWEEP_LRS

FINAL = ("completed", "diverged", "target_reached", "early_stopped")  # a cell's run has ended


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class MapCell(_Strict):
    """One learning rate × batch size: its final full-data loss (null when it diverged)."""

    loss: Annotated[float, Field(ge=0)] | None
    status: Literal[FINAL]  # type: ignore[valid-type]
    iterations: Annotated[int, Field(ge=0, le=10**9)]


class LrMap(_Strict):
    """`sweep_result`'s body: cells[i][j] is lrs[i] with batch_sizes[j]."""

    lrs: Annotated[list[Annotated[float, Field(gt=0, le=MAX_LR)]],
                   Field(min_length=1, max_length=MAX_SWEEP_LRS)]
    batch_sizes: Annotated[list[Annotated[int, Field(ge=1, le=MAX_BATCH)] | None],
                           Field(min_length=1, max_length=MAX_SWEEP_BATCHES)]
    cells: Annotated[list[Annotated[list[MapCell], Field(max_length=MAX_SWEEP_BATCHES)]],
                     Field(max_length=MAX_SWEEP_LRS)]
    lr_limit: Annotated[float, Field(gt=0)] | None


def check_shape(lr_map: LrMap, field: str = "lr_map") -> None:
    """ValueError naming the field unless there is one row per learning rate and one cell per
    batch size in each."""
    if len(lr_map.cells) != len(lr_map.lrs):
        raise ValueError(f"{field}.cells must hold one row per {field}.lrs value "
                         f"({len(lr_map.lrs)}), got {len(lr_map.cells)}")
    for i, row in enumerate(lr_map.cells):
        if len(row) != len(lr_map.batch_sizes):
            raise ValueError(f"{field}.cells.{i} must hold one cell per {field}.batch_sizes "
                             f"value ({len(lr_map.batch_sizes)}), got {len(row)}")


def table_html(lr_map: dict[str, Any], t: Any, esc: Any, fmt: Any, plain: Any) -> str:
    """The report's table: a row per learning rate, a column per batch size, each cell the final
    loss or the word for diverged (never colour alone); then 2/λ_max when it is known."""
    heads = [t("ctl.lr")] + [t("run.Full batch") if b is None else str(b)
                             for b in lr_map["batch_sizes"]]
    rows = []
    for lr, row in zip(lr_map["lrs"], lr_map["cells"], strict=True):
        cells = "".join(
            f'<td class="num">{esc(t("status.diverged")) if c["status"] == "diverged" else fmt(c["loss"])}'
            "</td>" for c in row)
        rows.append(f'<tr><th scope="row" class="num">{plain(lr)}</th>{cells}</tr>')
    head = "".join(f'<th scope="col">{esc(h)}</th>' for h in heads)
    caption = esc(t("map.table", batch=t("ctl.batch")))
    limit = lr_map.get("lr_limit")
    note = (f'<p class="meta">{esc(t("map.limit", v=fmt(limit)))}</p>' if limit else "")
    return (f'<table class="runs lr-map"><caption>{caption}</caption><tr>{head}</tr>'
            f'{"".join(rows)}</table>{note}')
