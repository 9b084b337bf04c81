"""Training: the live `/ws/train` socket and the headless `POST /api/runs`."""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, HTTPException, WebSocket

from app.race import Race
from app.schemas import TrainConfig
from app.session import serve_session

router = APIRouter()

#: The most iterations, over all runs, that one headless request may compute.
MAX_HEADLESS_ITERATIONS = 200_000


@router.websocket("/ws/train")
async def train_socket(websocket: WebSocket) -> None:
    await serve_session(websocket)


def run_headless(config: TrainConfig) -> dict[str, Any]:
    """The whole comparison, computed at once: config, surface and every run's points."""
    race = Race(config, generation=1)
    planned = sum(run.total_iterations for run in race.runs.values())
    if planned > MAX_HEADLESS_ITERATIONS:
        raise ValueError(
            f"this config needs up to {planned} iterations; a headless run may compute at most "
            f"{MAX_HEADLESS_ITERATIONS} (lower epochs or n_samples, or use bigger batches)"
        )
    for run in race.runs.values():
        while race.advance(run) is not None:
            pass
    return {
        "config": config.model_dump(),
        "started": race.started_message(),
        "surface": race.surface_message(),
        "runs": {name: run.points for name, run in race.runs.items()},
        "done": race.done_message(),
    }


@router.post("/api/runs")
async def headless_runs(config: TrainConfig) -> Any:
    try:
        return await anyio.to_thread.run_sync(run_headless, config)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
