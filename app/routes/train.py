"""Training: the live `/ws/train` socket and the headless `POST /api/runs`."""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, HTTPException, WebSocket

from app.export import compute
from app.schemas import TrainConfig
from app.session import serve_session

router = APIRouter()



@router.websocket("/ws/train")
async def train_socket(websocket: WebSocket) -> None:
    await serve_session(websocket)


def run_headless(config: TrainConfig) -> dict[str, Any]:
    """The whole comparison, computed at once: config, surface and every run's points.

    The same document as the JSON export (the page can load it back), within the same caps on
    iterations and on numbers held.
    """
    return compute(config)


@router.post("/api/runs")
async def headless_runs(config: TrainConfig) -> Any:
    try:
        return await anyio.to_thread.run_sync(run_headless, config)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
