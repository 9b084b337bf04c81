"""Heavy HTTP work (headless runs, exports, checks of uploaded files): off the event loop, a few
at a time.

A headless run at the caps computes for seconds and answers ~60 MB of JSON. Computed, encoded
and compressed in a worker thread, it leaves the event loop to live sessions and health checks;
at most DESCENT_MAX_HEADLESS_CONCURRENT run at once (they share the cores with every live
session), as many more wait their turn, and the next is refused at once with 503.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from typing import Any

import anyio
from fastapi import HTTPException, Request
from fastapi.responses import Response

#: gzip level of heavy answers: on float-heavy JSON, level 9 saves 8 % over level 1 (26.6 against
#: 28.8 MB of 60 MB) for 14 times the CPU (7.5 s against 0.55 s).
GZIP_LEVEL = 1


class HeavyWork:
    """At most `at_once` jobs in worker threads; `at_once` more may wait; the rest are refused."""

    def __init__(self, at_once: int) -> None:
        self.at_once = at_once
        self.limiter = anyio.CapacityLimiter(at_once)
        self.waiting = 0

    async def run(self, func: Callable[..., Any], *args: Any) -> Any:
        """`func(*args)` in a worker thread once a slot is free; 503 if too many wait already."""
        if self.limiter.available_tokens == 0 and self.waiting >= self.at_once:
            raise HTTPException(
                status_code=503, headers={"Retry-After": "5"},
                detail=f"server busy: {self.at_once} headless runs, exports or file checks are "
                f"computing and {self.waiting} more wait (DESCENT_MAX_HEADLESS_CONCURRENT="
                f"{self.at_once}); try again in a moment")
        self.waiting += 1
        try:
            await self.limiter.acquire()
        finally:
            self.waiting -= 1
        try:
            return await anyio.to_thread.run_sync(func, *args)
        finally:
            self.limiter.release()


def heavy_work(request: Request) -> HeavyWork:
    """This app's HeavyWork, made on first use."""
    state = request.app.state
    if getattr(state, "heavy_work", None) is None:
        state.heavy_work = HeavyWork(state.settings.max_headless_concurrent)
    return state.heavy_work


def accepts_gzip(request: Request) -> bool:
    """Whether the client's Accept-Encoding takes gzip (not with q=0)."""
    for item in request.headers.get("accept-encoding", "").split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def heavy_response(body: bytes | Iterable[bytes], media_type: str, gzip: bool,
                   headers: dict[str, str] | None = None) -> Response:
    """A response made of `body` (bytes, or pieces of them), compressed here when the client
    takes gzip. Call it in the worker thread: the app's GZipMiddleware leaves a body that has a
    Content-Encoding alone."""
    chunks = [body] if isinstance(body, bytes) else body
    headers = {**(headers or {}), "Vary": "Accept-Encoding"}
    if gzip:
        packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        packed = [packer.compress(chunk) for chunk in chunks]  # zlib lets go of the GIL
        packed.append(packer.flush())
        headers["Content-Encoding"] = "gzip"
        return Response(b"".join(packed), media_type=media_type, headers=headers)
    return Response(b"".join(chunks), media_type=media_type, headers=headers)
