"""The FastAPI application: ``uvicorn app.main:app``, or ``create_app(settings)`` in tests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.templating import Jinja2Templates
from threadpoolctl import threadpool_limits

from app.core import errors
from app.core.paths import STATIC_DIR, TEMPLATES_DIR
from app.core.security import OriginCheck, SecurityHeaders
from app.core.settings import Settings
from app.lessons import load_lessons
from app.rooms.hub import RoomHub
from app.routes import api, classroom, lessons, pages, rooms, train, vendor
from app.server import assets
from app.server.assets import PageAssets
from app.server.connections import Connections
from app.server.protocols import (
    GATE,
    ConnectionGate,
    HeadAsGet,
    MessageSizeGuard,
    quiet_invalid_utf8,
    raise_open_file_limit,
)

log = logging.getLogger("descent")

SHUTDOWN_REASON = "the server is shutting down"
ROOM_EXPIRY_EVERY = 30.0  # at most this many seconds between checks for idle rooms


def configure_logging(level: str) -> None:
    """Our loggers ("descent.*") print one line per event at the settings' level."""
    logger = logging.getLogger("descent")
    logger.setLevel("DEBUG" if level == "trace" else level.upper())
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False


def make_room_hub(settings: Settings) -> RoomHub:
    """Rooms in this process by default; shared between processes over Redis with REDIS_URL."""
    limits = (settings.max_rooms, settings.max_viewers_per_room, settings.room_idle_seconds)
    in_bytes = {"max_history_bytes": settings.max_room_history_mb * 2**20,
                "max_backlog_bytes": settings.max_viewer_backlog_mb * 2**20}
    if settings.redis_url:
        from app.rooms.redis_hub import RedisRoomHub

        return RedisRoomHub(settings.redis_url, *limits, **in_bytes)
    return RoomHub(*limits, **in_bytes)


def connection_gate(settings: Settings) -> ConnectionGate:
    """The bounds app.server.protocols apply to each connection of this process."""
    # Behind a trusted proxy every connection comes from the proxy: it bounds them per client.
    per_client = None if settings.trust_proxy_headers else settings.max_connections_per_client
    return ConnectionGate(per_client, settings.request_timeout_seconds)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, object]]:
    """Expire idle rooms; on SIGTERM, close every socket with a reason, then let uvicorn stop.

    The state it yields hands app.server.protocols their connection gate.
    """
    configure_logging(app.state.settings.log_level)
    threading.Thread(target=assets.warm, args=(STATIC_DIR,), daemon=True).start()  # Zopfli, once
    # One BLAS thread per call: the engine's matrices are small and the sessions are the
    # parallelism; OpenBLAS's second thread spinning beside each tiny product cost a busy
    # server 15 % more CPU per session (issue 17). threadpoolctl sets it at run time, whatever
    # imported NumPy first, where an environment variable must come before that import.
    threadpool_limits(limits=1, user_api="blas")
    raise_open_file_limit()  # here too for `uvicorn app.main:app` and each worker
    quiet_invalid_utf8()
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signal.SIGTERM)

    async def graceful(signum: int) -> None:
        await app.state.connections.close_all(SHUTDOWN_REASON)
        if callable(previous):
            previous(signum, None)  # uvicorn's own handler: stop serving and exit
        else:
            signal.raise_signal(signum)

    def on_sigterm(signum: int, _frame: object) -> None:
        loop.call_soon_threadsafe(lambda: loop.create_task(graceful(signum)))

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_sigterm)

    # At least twice per idle time (a room idle for 10 s must not wait 30 s for its check),
    # but not a busy loop for a tiny one.
    every = max(0.1, min(ROOM_EXPIRY_EVERY, app.state.settings.room_idle_seconds / 2))

    async def expire_rooms() -> None:
        while True:
            await asyncio.sleep(every)
            await app.state.rooms.expire()

    expiry = asyncio.create_task(expire_rooms())
    try:
        yield {GATE: connection_gate(app.state.settings)}
    finally:
        expiry.cancel()
        await app.state.connections.close_all(SHUTDOWN_REASON)
        await app.state.rooms.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings if settings is not None else Settings.from_env()
    # No /docs or /redoc: FastAPI's pages load their scripts from a CDN.
    app = FastAPI(title="Descent Playground", docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.settings = settings
    app.state.lessons = load_lessons(settings)  # a bad lesson file stops here, naming it
    app.state.connections = Connections(
        settings.max_sessions, settings.max_sessions_per_client, settings.trust_proxy_headers
    )
    app.state.templates = Jinja2Templates(directory=TEMPLATES_DIR)
    app.state.templates.env.globals["page_facts"] = pages.page_facts(settings)  # every page's data block
    app.state.rooms = make_room_hub(settings)

    errors.install(app)
    app.add_middleware(OriginCheck, settings=settings)  # innermost: refusals get every header
    app.add_middleware(MessageSizeGuard, max_message_bytes=settings.max_message_bytes)
    app.add_middleware(GZipMiddleware, minimum_size=1000)
    app.add_middleware(SecurityHeaders)
    if settings.allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.allowed_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type"],
        )

    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(lessons.router)
    app.include_router(classroom.router)  # share links, QR codes, exports
    app.include_router(train.router)  # POST /api/runs and the /ws/train WebSocket
    app.include_router(rooms.router)  # presenter rooms and their viewers
    app.include_router(vendor.router)  # before the /static mount, which would shadow it
    app.mount("/static", PageAssets(directory=STATIC_DIR), name="static")
    app.add_middleware(HeadAsGet)  # outermost: HEAD is routed as GET everywhere
    return app


app = create_app()
