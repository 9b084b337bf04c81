"""Training: the live `/ws/train` socket, the headless `POST /api/runs`, one iteration of a
run opened up, `POST /api/runs/detail` (what a replayed file shows in the step panel), and the
learning-rate map, `POST /api/sweep`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Request, WebSocket
from fastapi.responses import JSONResponse, Response

from app.core.schemas import SweepRequest, TrainConfig
from app.core.wire import encode_bytes
from app.export.compute import compute, detail_at, parse_detail_request, plan
from app.export.formats import json_chunks
from app.live.session import serve_session
from app.live.sweep import SweepRefused, SweepResult
from app.live.sweep import compute as compute_sweep
from app.live.sweep import plan as plan_sweep
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


@router.post("/api/runs/detail", response_class=Response, responses={200: {
    "content": {"application/json": {}},
    "description": "the `detail` message of that iteration, as the socket sends it"}})
async def run_detail(request: Request, body: Annotated[Any, Body()] = None) -> Response:
    """One iteration of one run, opened up (the step panel and the model in the data view):
    recomputed from the config, as a replayed file has no details of its own. Within the
    headless caps (DESCENT_MAX_HEADLESS_ITERATIONS, _VALUES), in a worker thread."""
    settings = request.app.state.settings
    try:
        parsed = parse_detail_request(body)
        plan(parsed.config, parsed.cuts(), settings)  # refused before any work
        detail = await heavy_work(request).run(detail_at, parsed, settings)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    return Response(encode_bytes(detail), media_type="application/json")


@router.post("/api/sweep", response_model=SweepResult)
async def sweep(body: SweepRequest, request: Request) -> Any:
    """The learning-rate map: the config trained with every learning rate × batch size (null =
    full batch), each from the same start with the same seed and the first run's update rule.

    cells[i][j] is lrs[i] with batch_sizes[j]: the final full-data loss (null if the run
    diverged), its status and iterations. lr_limit is 2 / λ_max where theory makes it exact
    (plain GD on w·x + b with MSE), else null. The whole map counts against
    DESCENT_MAX_HEADLESS_ITERATIONS (422 naming it), checked before any work; it is computed in
    a worker thread, a few at once (DESCENT_MAX_HEADLESS_CONCURRENT).
    """
    try:
        plan_sweep(body, request.app.state.settings)
    except SweepRefused as exc:
        return JSONResponse({"detail": str(exc), "field": exc.field, "code": exc.code,
                             "limit": exc.limit}, status_code=422)
    try:
        return await heavy_work(request).run(compute_sweep, body)
    except ValueError as exc:  # the engine refused a combination the schema let through
        raise HTTPException(status_code=422, detail=f"config: {exc}") from None
