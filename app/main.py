"""The FastAPI application: ``uvicorn app.main:app``, or ``create_app(settings)`` in tests."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from app.paths import STATIC_DIR, TEMPLATES_DIR
from app.rooms import RoomHub
from app.routes import api, pages, rooms, train, vendor
from app.settings import Settings


class _StaticFiles(StaticFiles):
    """Static files that browsers revalidate (a cheap 304) so a new deploy shows at once."""

    def file_response(self, *args, **kwargs):
        response = super().file_response(*args, **kwargs)
        response.headers.setdefault("Cache-Control", "no-cache")
        return response


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings if settings is not None else Settings.from_env()
    # No /docs or /redoc: FastAPI's pages load their scripts from a CDN.
    app = FastAPI(title="Descent Playground", docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.templates = Jinja2Templates(directory=TEMPLATES_DIR)
    app.state.rooms = RoomHub(
        settings.max_rooms, settings.max_viewers_per_room, settings.room_idle_seconds
    )

    app.add_middleware(GZipMiddleware, minimum_size=1000)
    if settings.allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.allowed_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type"],
        )

    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(train.router)  # POST /api/runs and the /ws/train WebSocket
    app.include_router(rooms.router)  # presenter rooms and their viewers
    app.include_router(vendor.router)  # before the /static mount, which would shadow it
    app.mount("/static", _StaticFiles(directory=STATIC_DIR), name="static")
    return app


app = create_app()
