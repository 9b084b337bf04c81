"""The schemas take their choices from the engine's registries (issue 11, point 6)."""

from __future__ import annotations

import typing

from app.core.schemas import DEFAULT_RUNS, RunConfig, TrainConfig
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
