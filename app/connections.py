"""Every open WebSocket of this process: admission caps, the Origin check, shutdown.

Training sessions are capped in all and per client address (a class behind one NAT address
shares one). A browser's `Origin` must be this server's own (or a configured one), so another
site cannot drive a student's browser into the playground; a script sends no Origin and is let
in. On shutdown every socket gets a close frame with a reason before the server stops.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from urllib.parse import urlsplit

from starlette.websockets import WebSocket

from app.settings import Settings

log = logging.getLogger("descent.connections")

GOING_AWAY = 1001
TRY_AGAIN_LATER = 1013
FORBIDDEN = 4403


def client_address(websocket: WebSocket) -> str:
    """The client's address (uvicorn puts the forwarded one here when proxies are trusted)."""
    return websocket.client.host if websocket.client else "unknown"


def origin_refusal(websocket: WebSocket, settings: Settings) -> str | None:
    """Why this socket's Origin is refused, or None when it is allowed."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return None  # not a browser: a script or a test client
    if origin in settings.allowed_origins:
        return None
    parts = urlsplit(origin)
    host = websocket.headers.get("host", "")
    if settings.trust_proxy_headers:
        host = websocket.headers.get("x-forwarded-host", host).split(",")[0].strip()
    if parts.netloc and parts.netloc.lower() == host.lower():
        return None
    return f"origin {origin[:60]} is not allowed (DESCENT_ALLOWED_ORIGINS)"


class Connections:
    """The open sockets and the session caps."""

    def __init__(self, max_sessions: int, max_per_client: int) -> None:
        self.max_sessions, self.max_per_client = max_sessions, max_per_client
        self.sockets: set[WebSocket] = set()
        self.sessions: dict[WebSocket, str] = {}
        self.per_client: Counter[str] = Counter()
        self.closing = False

    def admit_session(self, websocket: WebSocket) -> str | None:
        """Register a training session; the refusal's reason when a cap is reached."""
        if self.closing:
            return "the server is shutting down"
        address = client_address(websocket)
        if len(self.sessions) >= self.max_sessions:
            return f"server busy: at most {self.max_sessions} sessions (DESCENT_MAX_SESSIONS)"
        if self.per_client[address] >= self.max_per_client:
            return (
                f"too many sessions from {address}: at most {self.max_per_client} "
                "(DESCENT_MAX_SESSIONS_PER_CLIENT)"
            )
        self.sessions[websocket] = address
        self.per_client[address] += 1
        self.sockets.add(websocket)
        return None

    def add(self, websocket: WebSocket) -> None:
        """Register a socket that is not a session (a room viewer) for shutdown."""
        self.sockets.add(websocket)

    def release(self, websocket: WebSocket) -> None:
        self.sockets.discard(websocket)
        address = self.sessions.pop(websocket, None)
        if address is not None:
            self.per_client[address] -= 1
            if self.per_client[address] <= 0:
                del self.per_client[address]

    async def close_all(self, reason: str, timeout: float = 2.0) -> None:
        """Send every open socket a close frame with `reason`."""
        self.closing = True
        sockets = list(self.sockets)
        log.info("closing %d sockets: %s", len(sockets), reason)

        async def close(ws: WebSocket) -> None:
            try:
                await ws.close(code=GOING_AWAY, reason=reason)
            except Exception:  # noqa: BLE001 - already closed or broken: nothing to tell it
                pass

        if sockets:
            await asyncio.wait([asyncio.create_task(close(ws)) for ws in sockets], timeout=timeout)
