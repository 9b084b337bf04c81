"""Training: the live `/ws/train` socket and the headless `POST /api/runs`."""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, HTTPException, Request, WebSocket

from app.export import compute
from app.schemas import TrainConfig
from app.session import serve_session

router = APIRouter()


@router.websocket("/ws/train")
async def train_socket(websocket: WebSocket) -> None:
    await serve_session(websocket)


@router.post("/api/runs")
async def headless_runs(config: TrainConfig, request: Request) -> Any:
    """The whole comparison, computed at once: config, surface and every run's points.

    The same document as the JSON export (the page can load it back), within the same caps on
    iterations and on numbers held (DESCENT_MAX_HEADLESS_ITERATIONS, _VALUES).
    """
    try:
        return await anyio.to_thread.run_sync(compute, config, None, request.app.state.settings)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
