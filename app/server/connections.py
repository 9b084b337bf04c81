"""Every open WebSocket of this process: admission caps and shutdown.

Training sessions are capped in all and per client address (a class behind one NAT address
shares one); each socket checks its Origin first (app/core/security.py). On shutdown every
socket gets a close frame with a reason before the server stops.

Forwarded headers count only when ``DESCENT_TRUST_PROXY_HEADERS=true``. ``descent-playground``
then lets uvicorn take the client's address from X-Forwarded-For, and otherwise turns uvicorn's
proxy-headers middleware off. ``uvicorn app.main:app`` run directly keeps uvicorn's own default
(X-Forwarded-For believed from 127.0.0.1, or whatever FORWARDED_ALLOW_IPS names), and that
middleware rewrites the ASGI scope's ``client`` before the app runs: the peer's own address is
gone by then and cannot be restored here. So, with the setting off, a socket that sends any
X-Forwarded-For also counts against one shared bucket (`UNTRUSTED_FORWARD`): forged addresses
cannot add sessions past the per-client cap (no browser that reaches the port directly sends
that header, and matching it to the rewritten address would have to parse it as uvicorn does).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

from starlette.websockets import WebSocket

log = logging.getLogger("descent.connections")

GOING_AWAY = 1001
TRY_AGAIN_LATER = 1013
FORBIDDEN = 4403


# The per-client bucket of sockets whose address may come from an X-Forwarded-For that is not
# trusted (module docstring). Short: refusal reasons go in a close frame (123 bytes at most).
UNTRUSTED_FORWARD = "an untrusted X-Forwarded-For"
# The longest textual IPv6 address (INET6_ADDRSTRLEN - 1); anything longer is not an address.
_ADDRESS_CHARS = 45


def client_address(websocket: WebSocket) -> str:
    """The client's address: the peer's, or, when uvicorn's proxy-headers middleware is on, the
    one it took from X-Forwarded-For (`descent-playground` turns it on only with
    DESCENT_TRUST_PROXY_HEADERS=true)."""
    return websocket.client.host[:_ADDRESS_CHARS] if websocket.client else "unknown"


def counted_as(websocket: WebSocket, trust_proxy_headers: bool) -> tuple[str, ...]:
    """The per-client buckets a session from this socket counts against."""
    address = client_address(websocket)
    if not trust_proxy_headers and "x-forwarded-for" in websocket.headers:
        return (address, UNTRUSTED_FORWARD)
    return (address,)


class Connections:
    """The open sockets and the session caps."""

    def __init__(
        self, max_sessions: int, max_per_client: int, trust_proxy_headers: bool = False
    ) -> None:
        self.max_sessions, self.max_per_client = max_sessions, max_per_client
        self.trust_proxy_headers = trust_proxy_headers
        self.sockets: set[WebSocket] = set()
        self.sessions: dict[WebSocket, tuple[str, ...]] = {}
        self.per_client: Counter[str] = Counter()
        self.closing = False

    def admit_session(self, websocket: WebSocket) -> str | None:
        """Register a training session; the refusal's reason when a cap is reached."""
        if self.closing:
            return "the server is shutting down"
        buckets = counted_as(websocket, self.trust_proxy_headers)
        if len(self.sessions) >= self.max_sessions:
            return f"server busy: at most {self.max_sessions} sessions (DESCENT_MAX_SESSIONS)"
        for bucket in buckets:
            if self.per_client[bucket] >= self.max_per_client:
                return (
                    f"too many sessions from {bucket}: at most {self.max_per_client} "
                    "(DESCENT_MAX_SESSIONS_PER_CLIENT)"
                )
        self.sessions[websocket] = buckets
        self.per_client.update(buckets)
        self.sockets.add(websocket)
        return None

    def add(self, websocket: WebSocket) -> None:
        """Register a socket that is not a session (a room viewer) for shutdown."""
        self.sockets.add(websocket)

    def release(self, websocket: WebSocket) -> None:
        self.sockets.discard(websocket)
        for bucket in self.sessions.pop(websocket, ()):
            self.per_client[bucket] -= 1
            if self.per_client[bucket] <= 0:
                del self.per_client[bucket]

    async def close_all(self, reason: str, timeout: float = 1.0) -> None:
        """Send every open socket a close frame with `reason`.

        Within `timeout`: a client that stopped reading never takes its frame, and shutdown
        must go on (app.server.protocols aborts such connections).
        """
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
