"""What the server bounds below the routes: connections, request heads, message size, shutdown.

`descent-playground` runs uvicorn with the protocol classes below (``uvicorn app.main:app``
takes them as ``--http app.server.protocols:HttpProtocol --ws app.server.protocols:WebSocketProtocol``, README
"Settings"). They read the app's `ConnectionGate` from uvicorn's lifespan state, where the
app's lifespan puts it, and then:

- close a connection that has not sent a whole request head within
  DESCENT_REQUEST_TIMEOUT_SECONDS (uvicorn's own keep-alive timeout only starts after a
  response), and one whose head grows past MAX_HEAD_BYTES (431);
- refuse at once a connection past DESCENT_MAX_CONNECTIONS_PER_CLIENT from one address (HTTP
  and WebSocket together), with one log line per burst;
- abort, DRAIN_SECONDS after shutdown starts, a connection whose close has not drained: a
  client that stopped reading would otherwise keep the process waiting for ever.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import Counter
from http import HTTPStatus
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.auto import AutoWebSocketsProtocol

log = logging.getLogger("descent.server")

GATE = "descent.gate"  # the gate's key in uvicorn's lifespan state
# A request head (request line and headers) may hold this much; httptools, unlike h11, has no
# bound of its own. Checked between reads, so the head buffered is at most this plus one read
# (256 KiB with uvloop, 64 KiB with asyncio).
MAX_HEAD_BYTES = 64 * 1024
# Past DESCENT_MAX_MESSAGE_BYTES, a message of up to this many more bytes still reaches the
# app, which answers it with a `too_large` error and keeps the socket; a longer one closes the
# socket with 1009, refused by uvicorn (`ws_max_size`) before it is buffered.
MESSAGE_SLACK_BYTES = 64 * 1024
DRAIN_SECONDS = 1.0  # on shutdown, then a connection that has not closed is aborted
LOG_EVERY = 10.0  # seconds between two lines about refused connections from one address
MESSAGE_TOO_BIG = 1009


def ws_max_size(max_message_bytes: int) -> int:
    """uvicorn's `ws_max_size` for DESCENT_MAX_MESSAGE_BYTES."""
    return max_message_bytes + MESSAGE_SLACK_BYTES


def raise_open_file_limit() -> None:
    """Raise this process's soft limit on open files to its hard limit: each client is one."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as exc:
        log.warning("could not raise the open-file limit from %d to %d: %s", soft, target, exc)


class ConnectionGate:
    """This process's open connections per client address, and the request-head deadline."""

    def __init__(self, max_per_client: int | None, request_timeout: float) -> None:
        self.max_per_client = max_per_client  # None: not capped (a trusted proxy in front)
        self.request_timeout = request_timeout
        self.open: dict[asyncio.BaseTransport, str] = {}
        self.per_client: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self.logged_at: dict[str, float] = {}

    def admit(self, transport: asyncio.BaseTransport, address: str | None) -> bool:
        """Count a new connection; False when its address already holds the most it may."""
        if address is None:  # a Unix socket: no address to count against
            return True
        if self.max_per_client is not None and self.per_client[address] >= self.max_per_client:
            self._refused(address)
            return False
        self.open[transport] = address
        self.per_client[address] += 1
        return True

    def release(self, transport: asyncio.BaseTransport) -> None:
        """Forget a closed connection (any number of times)."""
        address = self.open.pop(transport, None)
        if address is None:
            return
        self.per_client[address] -= 1
        if self.per_client[address] <= 0:
            del self.per_client[address]
            self.refused.pop(address, None)
            self.logged_at.pop(address, None)

    def refusal(self, address: str) -> str:
        return (f"too many connections from {address[:45]}: at most {self.max_per_client} "
                "(DESCENT_MAX_CONNECTIONS_PER_CLIENT)")

    def _refused(self, address: str) -> None:
        # A flood would write a line per connection: one line per address every LOG_EVERY.
        self.refused[address] += 1
        now = time.monotonic()
        if now - self.logged_at.get(address, -math.inf) >= LOG_EVERY:
            log.warning("refused %d connection(s): %s", self.refused.pop(address),
                        self.refusal(address))
            self.logged_at[address] = now


def _plain_response(status: int, text: str) -> bytes:
    body = text.encode()
    return (f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
            "content-type: text/plain; charset=utf-8\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n").encode() + body


class _AbortOnShutdown:
    """On shutdown, abort the connection if its close has not drained within DRAIN_SECONDS."""

    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    lost = False

    def shutdown(self) -> None:
        super().shutdown()  # type: ignore[misc]
        self.loop.call_later(DRAIN_SECONDS, self._abort)

    def _abort(self) -> None:
        if not self.lost:
            self.transport.abort()


class HttpProtocol(_AbortOnShutdown, HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline and a size bound on each request head, and
    the per-client connection cap."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate: ConnectionGate | None = self.app_state.get(GATE)
        self.head_timer: asyncio.TimerHandle | None = None
        self.reading_head = True  # waiting for (the rest of) a request line and headers
        self.head_bytes = 0  # bytes read since the head began, counted per read

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.gate is None:
            return
        address = self.client[0] if self.client else None
        if not self.gate.admit(transport, address):
            self._refuse(503, self.gate.refusal(str(address)))
            return
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._cancel_head_timer()
        if self.gate is not None:
            self.gate.release(self.transport)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.reading_head:
            self.head_bytes += len(data)
            self._arm_head_timer()
        super().data_received(data)
        if self.reading_head and self.head_bytes > MAX_HEAD_BYTES:
            self._refuse(431, f"request head larger than {MAX_HEAD_BYTES} bytes")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.reading_head = True
        self._arm_head_timer()

    def on_headers_complete(self) -> None:
        self.reading_head, self.head_bytes = False, 0
        self._cancel_head_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.pipeline:
            self.reading_head = True  # the next request's head: timed from its first byte

    def _arm_head_timer(self) -> None:
        if self.head_timer is None and self.gate is not None and not self.transport.is_closing():
            self.head_timer = self.loop.call_later(self.gate.request_timeout, self._head_timeout)

    def _cancel_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timeout(self) -> None:
        self.head_timer = None
        if self.head_bytes == 0:  # nothing asked (an idle or preconnected socket): just close
            self.transport.close()
            return
        assert self.gate is not None
        self._refuse(408, f"no whole request within {self.gate.request_timeout:g} s "
                          "(DESCENT_REQUEST_TIMEOUT_SECONDS)")

    def _refuse(self, status: int, text: str) -> None:
        self._cancel_head_timer()
        self.reading_head = False
        if not self.transport.is_closing():
            self.transport.write(_plain_response(status, text))
            self.transport.close()


def too_big_reason(limit: int) -> str:
    """The close reason (1009) for a message past `limit` bytes."""
    return f"message larger than {limit} bytes (DESCENT_MAX_MESSAGE_BYTES + 64 KiB)"


class WebSocketProtocol(_AbortOnShutdown, AutoWebSocketsProtocol):  # type: ignore[misc, valid-type]
    """uvicorn's WebSocket protocol, which gives the connection's slot back when it closes and
    names the setting when it refuses a message too big."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        conn = getattr(self, "conn", None)  # the websockets protocol (uvicorn's sans-I/O one)
        if conn is not None and hasattr(conn, "fail"):
            fail, reason = conn.fail, too_big_reason(self.config.ws_max_size)

            def fail_naming_the_setting(code: int, text: str = "") -> None:
                fail(code, reason if code == MESSAGE_TOO_BIG else text)

            conn.fail = fail_naming_the_setting

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        super().connection_lost(exc)
        gate = self.app_state.get(GATE)
        if gate is not None:
            gate.release(self.transport)


class HeadAsGet:
    """Answer HEAD like GET (the server sends no body): FastAPI routes only the GET."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "HEAD":
            scope = {**scope, "method": "GET"}  # uvicorn keeps its own scope, still HEAD
        await self.app(scope, receive, send)


class MessageSizeGuard:
    """Close a WebSocket with 1009 on a message past DESCENT_MAX_MESSAGE_BYTES and its slack.

    uvicorn refuses such a frame before buffering it when given `ws_max_size`
    (`descent-playground` passes it); this is the same rule for a server started without it.
    """

    def __init__(self, app: ASGIApp, max_message_bytes: int) -> None:
        self.app = app
        self.limit = ws_max_size(max_message_bytes)
        self.reason = too_big_reason(self.limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return

        async def guarded() -> Message:
            message = await receive()
            if message["type"] == "websocket.receive" and self._too_big(message):
                await send({"type": "websocket.close", "code": MESSAGE_TOO_BIG,
                            "reason": self.reason})
                return {"type": "websocket.disconnect", "code": MESSAGE_TOO_BIG}
            return message

        await self.app(scope, guarded, send)

    def _too_big(self, message: Message) -> bool:
        if message.get("bytes") is not None:
            return len(message["bytes"]) > self.limit
        text = message.get("text") or ""
        if len(text) > self.limit:  # a character is at least one byte
            return True
        return len(text) * 4 > self.limit and len(text.encode("utf-8", "surrogatepass")) > self.limit


class OneLineInvalidUtf8(logging.Filter):
    """uvicorn logs a whole traceback for each text frame that is not UTF-8: make it one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith("Invalid UTF-8"):
            record.msg, record.args = "invalid UTF-8 in a text frame: closed with 1007", ()
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def quiet_invalid_utf8() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, OneLineInvalidUtf8) for f in logger.filters):
        logger.addFilter(OneLineInvalidUtf8())
