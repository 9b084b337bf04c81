"""Security headers on every HTTP response, and the Origin rule: a browser's `Origin` must be
this server's own (or a configured one). `OriginCheck` applies it to state-changing requests
(pure ASGI middlewares: WebSockets pass through; the sockets call `origin_refusal` themselves).

The Content-Security-Policy is one the page itself satisfies: scripts only from this origin
(plotly.js needs 'unsafe-eval'), inline styles allowed (plotly.js sets them), sockets to this
origin, no framing by other sites.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.settings import Settings

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


_DEFAULT_PORTS = {"http": 80, "https": 443}
_HTTP_SCHEMES = {"ws": "http", "wss": "https", "http": "http", "https": "https"}


def _origin_key(scheme: str, netloc: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin, the port filled in, or None if it is not one."""
    try:
        parts = urlsplit(f"{scheme}://{netloc}")
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host or scheme not in _DEFAULT_PORTS:
        return None
    return scheme, host, port if port is not None else _DEFAULT_PORTS[scheme]


def own_origin(conn: HTTPConnection, trust_proxy_headers: bool) -> tuple[str, str, int] | None:
    """This server's origin as the client reached it: the scope's scheme and the Host header,
    or X-Forwarded-Proto and X-Forwarded-Host when forwarded headers are trusted."""
    scheme = _HTTP_SCHEMES.get(conn.scope.get("scheme", "http"), "http")
    host = conn.headers.get("host", "")
    if trust_proxy_headers:
        scheme = conn.headers.get("x-forwarded-proto", scheme).split(",")[0].strip().lower()
        host = conn.headers.get("x-forwarded-host", host).split(",")[0].strip()
    return _origin_key(scheme, host)


def origin_refusal(conn: HTTPConnection, settings: Settings) -> str | None:
    """Why this socket's or request's Origin is refused, or None when it is allowed: the same
    scheme, host and port as this server, or one of DESCENT_ALLOWED_ORIGINS."""
    origin = conn.headers.get("origin")
    if origin is None:
        return None  # not a browser: a script or a test client
    if origin in settings.allowed_origins:
        return None
    scheme, _, netloc = origin.partition("://")
    theirs = _origin_key(scheme.lower(), netloc)
    if theirs is not None and theirs == own_origin(conn, settings.trust_proxy_headers):
        return None
    return f"origin {origin[:60]} is not allowed (DESCENT_ALLOWED_ORIGINS)"


class SecurityHeaders:
    """Adds HEADERS to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in HEADERS if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


#: Methods that change nothing: the Origin check lets them through (CORS preflights included).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class OriginCheck:
    """The sockets' Origin rule for every state-changing HTTP request (POST, PUT, ...).

    Without it any page a student opens could post to the playground from their browser (a
    hidden form filling the room cap). A request without Origin (a script) passes.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app, self.settings = app, settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            refusal = origin_refusal(HTTPConnection(scope), self.settings)
            if refusal:
                body = {"detail": refusal, "field": "origin", "code": "forbidden_origin"}
                await JSONResponse(body, status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)
