"""Training: the live `/ws/train` socket and the headless `POST /api/runs`."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, WebSocket
from fastapi.responses import Response

from app.core.schemas import TrainConfig
from app.export.compute import compute, plan
from app.export.formats import json_chunks
from app.live.session import serve_session
from app.server.heavy import accepts_gzip, heavy_response, heavy_work

router = APIRouter()


@router.websocket("/ws/train")
async def train_socket(websocket: WebSocket) -> None:
    await serve_session(websocket)


@router.post("/api/runs", response_class=Response, responses={200: {
    "content": {"application/json": {}},
    "description": "config, started, surface, every run's points and done, as the JSON export"}})
async def headless_runs(config: TrainConfig, request: Request) -> Response:
    """The whole comparison, computed at once: config, surface and every run's points.

    The same document as the JSON export (the page can load it back), within the same caps on
    iterations and on numbers held (DESCENT_MAX_HEADLESS_ITERATIONS, _VALUES), checked before
    any work; computed and encoded in a worker thread, a few at once
    (DESCENT_MAX_HEADLESS_CONCURRENT).
    """
    settings = request.app.state.settings
    gzip = accepts_gzip(request)

    def answer() -> Response:
        return heavy_response(json_chunks(compute(config, None, settings)), "application/json",
                              gzip)

    try:
        plan(config, None, settings)
        return await heavy_work(request).run(answer)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
