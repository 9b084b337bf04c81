"""A client's messages on a socket: read strictly, validated, and rate-limited.

`parse` turns a raw ASGI `websocket.receive` event into one of the schemas' messages, or a
`ClientError` the session answers with an `error` message. `RateLimit` is the token bucket
both the training socket and the room viewers' sockets apply.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import ValidationError
from starlette.websockets import WebSocket

from app.core.schemas import MESSAGES, echo, first_error
from app.core.settings import Settings
from app.core.wire import decode

MAX_REFUSED = 500  # messages refused for rate before the socket is closed, with this reason:
TOO_MANY_MESSAGES = "too many messages (DESCENT_MAX_MESSAGES_PER_SECOND): closed"


class RateLimit:
    """A token bucket: `allow()` is False once the client sends faster than the rate allows.

    `refused` counts the messages refused in a row; past MAX_REFUSED the client is `exhausted`
    and its socket should be closed with TOO_MANY_MESSAGES.
    """

    def __init__(self, settings: Settings) -> None:
        self.rate, self.burst = settings.max_messages_per_second, settings.max_message_burst
        self.tokens, self.stamp = float(self.burst), time.monotonic()
        self.refused = 0

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            self.refused = 0
            return True
        self.refused += 1
        return False

    @property
    def exhausted(self) -> bool:
        return self.refused > MAX_REFUSED

    def refusal(self) -> str:
        """The `rate_limited` error's sentence, naming both settings."""
        return (f"too many messages: at most {self.rate} per second (bursts of {self.burst}; "
                "DESCENT_MAX_MESSAGES_PER_SECOND, DESCENT_MAX_MESSAGE_BURST); this one was "
                "ignored")


async def receive_within(websocket: WebSocket, limit: RateLimit) -> dict[str, Any] | None:
    """The client's next `websocket.receive` event, `limit.refused` > 0 if it came too fast;
    None once the client left, or sent too fast for too long (then closed, saying so)."""
    raw = await websocket.receive()
    if raw["type"] == "websocket.disconnect":
        return None
    if not limit.allow() and limit.exhausted:
        await websocket.close(code=1008, reason=TOO_MANY_MESSAGES)
        return None
    return raw


class ClientError(Exception):
    """A message the session cannot act on: becomes an `error` message, the socket stays open."""

    def __init__(self, message: str, code: str, field: str | None = None,
                 limit: int | None = None) -> None:
        super().__init__(message)
        self.code, self.field, self.limit = code, field, limit


def parse(raw: dict[str, Any], max_bytes: int) -> Any:
    """A validated client message from a raw ASGI `websocket.receive` event."""
    if raw.get("bytes") is not None:
        raise ClientError("binary frames are not accepted; send JSON text", "binary_frame")
    text = raw.get("text") or ""
    if len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise ClientError(
            f"message larger than {max_bytes} bytes (DESCENT_MAX_MESSAGE_BYTES)", "too_large",
            limit=max_bytes)
    try:
        data = decode(text)
    except (ValueError, RecursionError) as exc:
        raise ClientError(f"message is not valid JSON: {exc}", "bad_json") from None
    if not isinstance(data, dict):
        raise ClientError("a message must be a JSON object with a \"type\"", "bad_message")
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in MESSAGES:
        raise ClientError(
            f"unknown message type {echo(kind)}; expected one of: {', '.join(MESSAGES)}",
            "unknown_type", "type",
        )
    try:
        return MESSAGES[kind].model_validate(data)
    except ValidationError as exc:
        field, message, code = first_error(exc)
        raise ClientError(message, code, field) from None
    except RecursionError:
        raise ClientError("message is nested too deeply", "bad_message") from None
