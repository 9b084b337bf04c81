"""The schemas take their choices from the engine's registries (issue 11, point 6), and give the
page the bounds its form checks (issue 12, point 4)."""

from __future__ import annotations

import typing

from pydantic import ValidationError

from app.core.schemas import DEFAULT_RUNS, RunConfig, TrainConfig, form_bounds
from app.export.validate import SavedRunInfo
from engine.descent import DEFAULT_RUNS as ENGINE_DEFAULT_RUNS
from engine.descent import UPDATE_RULES


def test_update_rules_are_the_engines():
    for model in (RunConfig, SavedRunInfo):
        allowed = typing.get_args(model.model_fields["update"].annotation)
        assert list(allowed) == list(UPDATE_RULES), model


def test_default_runs_are_the_engines():
    assert [(r.name, r.batch_size, r.lr, r.update) for r in DEFAULT_RUNS] == [
        (r.name, r.batch_size, r.lr, r.update) for r in ENGINE_DEFAULT_RUNS]
    assert TrainConfig().runs == list(DEFAULT_RUNS)


def _accepts(**fields) -> bool:
    try:
        TrainConfig(**fields)
    except ValidationError:
        return False
    return True


def test_the_forms_bounds_are_the_ones_the_schema_enforces():
    """The page checks a typed value against form_bounds() and names its range (issue 12,
    point 4): each end is accepted and one step past it refused, as a start would be."""
    b = form_bounds()
    multi = {"dataset": "multiblobs"}
    cases = {  # field: (a config holding value v, the smallest step past an end)
        "n_samples": (lambda v: {"n_samples": v}, 1), "seed": (lambda v: {"seed": v}, 1),
        "epochs": (lambda v: {"epochs": v}, 1), "patience": (lambda v: {"patience": v}, 1),
        "n_classes": (lambda v: {**multi, "n_classes": v}, 1),
        "noise": (lambda v: {"noise": v}, 1e-9), "target_loss": (lambda v: {"target_loss": v}, 1e-3),
        "lr": (lambda v: {"lr": v}, 1e-9), "repeats": (lambda v: {"repeats": v}, 1),
        "hidden": (lambda v: {"hidden": [v]}, 1),
        "batch_size": (lambda v: {"runs": [{"name": "a", "batch_size": v}]}, 1),
    }
    assert set(cases) | {"hidden_layers"} == set(b)
    for field, (config, step) in cases.items():
        lo, hi = b[field]
        assert _accepts(**config(lo)) is (field != "lr"), field  # lr > 0: its low end is refused
        assert _accepts(**config(lo + step)), field
        assert not _accepts(**config(lo - step)), field
        assert _accepts(**config(hi)), field
        assert not _accepts(**config(hi + step)), field
    lo, hi = b["hidden_layers"]
    assert _accepts(hidden=[1] * lo) and _accepts(hidden=[1] * hi)
    assert not _accepts(hidden=[1] * (hi + 1))
