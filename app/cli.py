"""``descent-playground``: start the web app and print where to open it."""

from __future__ import annotations

import argparse
import dataclasses
import os
import socket
import sys
import threading
import time
import webbrowser
from collections.abc import Callable, Mapping, Sequence

from app.core.settings import LOG_LEVELS, Settings
from app.lessons import load_lessons
from app.server.protocols import MAX_HEAD_BYTES, raise_open_file_limit, ws_max_size
from app.share.address import ALL_INTERFACES, lan_addresses

# Seconds uvicorn waits, on shutdown, for requests and sockets still open before it cancels
# them; app.server.protocols aborts the connections that have not drained before that.
GRACEFUL_SHUTDOWN_SECONDS = 2


def _int_between(lo: int, hi: int) -> Callable[[str], int]:
    """An argparse type: an integer in [lo, hi], refused naming the range."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = lo - 1
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be an integer in [{lo}, {hi}], got {text!r}")
        return value

    return parse


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="descent-playground",
        description="Watch SGD, mini-batch and full-batch gradient descent race down a loss surface.",
        epilog="Defaults come from DESCENT_HOST, DESCENT_PORT and DESCENT_LOG_LEVEL.",
    )
    parser.add_argument("--host", help="address to listen on; 0.0.0.0 for the whole LAN")
    parser.add_argument("--port", type=_int_between(1, 65535), help="TCP port (default 8000)")
    parser.add_argument("--log-level", choices=LOG_LEVELS, type=str.lower)
    parser.add_argument("--open", action="store_true", help="open the page in a web browser")
    parser.add_argument("--workers", type=_int_between(1, 64), default=1,
                        help="worker processes (default 1); more than one needs REDIS_URL, "
                             "so that presenter rooms are shared between them")
    return parser.parse_args(argv)


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def urls(host: str, port: int) -> list[str]:
    """The URLs to open: the local one first, then the LAN ones when listening on all."""
    if host in ALL_INTERFACES:
        return [_url("127.0.0.1", port)] + [_url(a, port) for a in lan_addresses()]
    return [_url(host, port)]


def _open_when_up(host: str, port: int, url: str, timeout: float = 30.0) -> None:
    """Open ``url`` in a browser once the server accepts connections."""
    probe = "127.0.0.1" if host in ALL_INTERFACES else host
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((probe, port), timeout=1):
                webbrowser.open(url)
                return
        except OSError:
            time.sleep(0.2)


def server_options(settings: Settings, environ: Mapping[str, str] | None = None) -> dict:
    """uvicorn's options for these settings.

    X-Forwarded-For/-Proto (the client's address, for the per-client session cap, and scheme)
    are used only when DESCENT_TRUST_PROXY_HEADERS=true, like X-Forwarded-Host for the Origin
    check; otherwise uvicorn's proxy-headers middleware is off, so no peer, not even 127.0.0.1,
    can name another address. When trusted, they are believed from the peers FORWARDED_ALLOW_IPS
    names (uvicorn's variable: addresses or networks, comma-separated), from any peer when it is
    unset: the setting says a proxy is in front, and then only the proxy should reach the port.
    """
    environ = os.environ if environ is None else environ
    options: dict = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        # Compressing every frame once per socket costs more CPU than a room of viewers can
        # afford on a teacher's laptop (benchmarks/rooms.py); loopback and LAN don't need it.
        "ws_per_message_deflate": False,
        "proxy_headers": settings.trust_proxy_headers,
        # A frame past the message cap (and its slack) is refused before it is buffered.
        "ws_max_size": ws_max_size(settings.max_message_bytes),
        # The request-head deadline and size, the per-client connection cap, the abort of
        # connections that do not drain on shutdown (app/server/protocols.py).
        "http": "app.server.protocols:HttpProtocol",
        "ws": "app.server.protocols:WebSocketProtocol",
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,  # the same bound if h11 is chosen
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECONDS,
    }
    if settings.trust_proxy_headers:
        options["forwarded_allow_ips"] = environ.get("FORWARDED_ALLOW_IPS", "").strip() or "*"
    return options


def proxy_notice(settings: Settings, environ: Mapping[str, str] | None = None) -> str | None:
    """A line for the operator about forwarded headers, or None when there is nothing to say."""
    environ = os.environ if environ is None else environ
    allowed = environ.get("FORWARDED_ALLOW_IPS", "").strip()
    if settings.trust_proxy_headers and not allowed:
        return ("forwarded headers are trusted from any peer (DESCENT_TRUST_PROXY_HEADERS=true): "
                f"only the proxy should reach port {settings.port}, or set FORWARDED_ALLOW_IPS "
                "to its address")
    if not settings.trust_proxy_headers and allowed:
        return ("FORWARDED_ALLOW_IPS is ignored: forwarded headers are used only with "
                "DESCENT_TRUST_PROXY_HEADERS=true")
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = Settings.from_env()
        overrides = {"host": args.host, "port": args.port, "log_level": args.log_level}
        settings = dataclasses.replace(
            settings, **{k: v for k, v in overrides.items() if v is not None}
        )
        load_lessons(settings)  # a bad lesson file: one line naming it, not a traceback
    except ValueError as exc:
        print(f"descent-playground: error: {exc}", file=sys.stderr)
        return 2
    if args.workers > 1 and not settings.redis_url:
        print("descent-playground: error: --workers above 1 needs REDIS_URL: a presenter room "
              "lives in one process otherwise, and its viewers may land on another",
              file=sys.stderr)
        return 2

    import uvicorn

    from app.main import create_app

    raise_open_file_limit()  # each connection is a file; the workers inherit the limit

    links = urls(settings.host, settings.port)
    print("Descent Playground: open " + links[0], flush=True)
    for link in links[1:]:
        print("  on the local network: " + link, flush=True)
    notice = proxy_notice(settings)
    if notice:
        print("descent-playground: " + notice, file=sys.stderr, flush=True)
    options = server_options(settings)
    if args.open:
        threading.Thread(
            target=_open_when_up, args=(settings.host, settings.port, links[0]), daemon=True
        ).start()
    if args.workers > 1:
        # Each worker builds its own app from the environment: pass the overrides on.
        os.environ.update({"DESCENT_HOST": settings.host, "DESCENT_PORT": str(settings.port),
                           "DESCENT_LOG_LEVEL": settings.log_level})
        uvicorn.run("app.main:create_app", factory=True, workers=args.workers, **options)
        return 0
    uvicorn.run(create_app(settings), **options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
