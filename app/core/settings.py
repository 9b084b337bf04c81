"""The app's settings, read once from environment variables.

Every field ``x`` comes from ``DESCENT_X`` (``redis_url`` from ``REDIS_URL``); a variable
that is unset or blank keeps the default. A bad value raises ``ValueError`` naming the
variable, e.g. ``DESCENT_PORT must be an integer in [1, 65535], got 'abc'``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from urllib.parse import urlsplit

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
_BIG = 1_000_000

# Inclusive bounds of the integer settings.
_INT_RANGES: dict[str, tuple[int, int]] = {
    "port": (1, 65535),
    "max_sessions": (1, _BIG),
    "max_sessions_per_client": (1, _BIG),
    "max_rooms": (1, _BIG),
    "max_viewers_per_room": (1, _BIG),
    "max_iterations_per_run": (1, 10**9),
    "max_points_per_session": (100, 10**8),
    "max_history_mb": (1, 64 * 1024),
    "max_room_history_mb": (1, 64 * 1024),
    "max_viewer_backlog_mb": (1, 64 * 1024),
    "max_message_bytes": (1024, 16 * 1024 * 1024),
    "max_messages_per_second": (1, 10_000),
    "max_message_burst": (1, 100_000),
    "max_headless_iterations": (1, 10**9),
    "max_headless_values": (1000, 10**10),
    "max_headless_concurrent": (1, 64),
    "max_upload_mb": (1, 1024),
    "max_connections_per_client": (1, _BIG),
    "request_timeout_seconds": (1, 3600),
}


def env_name(field: str) -> str:
    """The environment variable that sets ``field``."""
    return "REDIS_URL" if field == "redis_url" else f"DESCENT_{field.upper()}"


def _bad(field: str, expected: str, got: object) -> ValueError:
    return ValueError(f"{env_name(field)} must be {expected}, got {got!r}")


def _check_origin(origin: str) -> None:
    parts = urlsplit(origin)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path
        or parts.query
        or parts.fragment
    ):
        raise _bad("allowed_origins", "a comma list of origins like https://host:port", origin)


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    # Origins (scheme://host[:port]) besides the app's own that may call the API and
    # open WebSockets; empty means same origin only.
    allowed_origins: tuple[str, ...] = ()
    max_sessions: int = 100
    max_sessions_per_client: int = 100
    room_idle_seconds: float = 1800.0
    max_rooms: int = 50
    max_viewers_per_room: int = 500
    # One live run may be this long (epochs x iterations per epoch); 5,000 samples at batch 1
    # for 1,000 epochs is 5,000,000.
    max_iterations_per_run: int = 5_000_000
    # What one live session keeps of its history (points and their parameters), whichever
    # bound comes first; beyond it the older half is thinned to every other point.
    max_points_per_session: int = 40_000
    max_history_mb: int = 16
    # What a room keeps for its late joiners (each point as its JSON text, in this process and
    # in Redis), thinned the same way past it; and what may queue up for one viewer beyond the
    # run so far it was sent, before it is resynchronised.
    max_room_history_mb: int = 16
    max_viewer_backlog_mb: int = 8
    # Client messages on a socket: size, and a token bucket (sustained rate, burst). A `start`
    # with 2,000 custom rows of two features at full precision is ~110 KB: 256 KiB holds it.
    max_message_bytes: int = 256 * 1024
    max_messages_per_second: int = 20
    max_message_burst: int = 60
    # One headless `POST /api/runs` or export: iterations computed over all runs, and numbers
    # in the response (points x (parameters + 8)); 3,000,000 is ~60 MB of JSON.
    max_headless_iterations: int = 200_000
    max_headless_values: int = 3_000_000
    # Headless runs and exports computing at once (in worker threads, so live sessions keep
    # their frames); as many more wait their turn, and the next is refused with 503.
    max_headless_concurrent: int = 2
    # Largest file "Load a saved run" accepts (an export at the default caps is ~60 MB of JSON
    # at most; one of a whole lesson is a few MB).
    max_upload_mb: int = 64
    # TCP connections one client address may hold at once (page loads, sessions and viewers
    # together; a class behind one NAT shares one address), and the seconds a connection may
    # take to send a whole request head (a connection that sends nothing is closed then).
    max_connections_per_client: int = 1000
    request_timeout_seconds: int = 10
    # Use X-Forwarded-* headers (client address, host) only behind a proxy you run.
    trust_proxy_headers: bool = False
    # A folder of a teacher's own lesson files (*.toml, as in lessons/), read at start-up with
    # the built-in ones; a bad file stops the start, naming the file, the step and the field.
    lessons_dir: str | None = None
    redis_url: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.host, str) or not self.host or any(c.isspace() for c in self.host):
            raise _bad("host", "a host name or IP address", self.host)
        for field, (lo, hi) in _INT_RANGES.items():
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise _bad(field, f"an integer in [{lo}, {hi}]", value)
        if not isinstance(self.trust_proxy_headers, bool):
            raise _bad("trust_proxy_headers", "true or false", self.trust_proxy_headers)
        if self.log_level not in LOG_LEVELS:
            raise _bad("log_level", f"one of {', '.join(LOG_LEVELS)}", self.log_level)
        if not isinstance(self.allowed_origins, tuple):
            raise _bad("allowed_origins", "a tuple of origins", self.allowed_origins)
        for origin in self.allowed_origins:
            _check_origin(origin)
        seconds = self.room_idle_seconds
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not math.isfinite(seconds)
            or seconds <= 0
        ):
            raise _bad("room_idle_seconds", "a number of seconds > 0", seconds)
        if self.lessons_dir is not None and not (
            isinstance(self.lessons_dir, str) and os.path.isdir(self.lessons_dir)
        ):
            raise _bad("lessons_dir", "a folder of lesson files (*.toml)", self.lessons_dir)
        if self.redis_url is not None and not urlsplit(self.redis_url).scheme.startswith("redis"):
            raise _bad("redis_url", "a redis:// or rediss:// URL", self.redis_url)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = environ.get(env_name(f.name), "").strip()
            if raw:
                values[f.name] = _parse(f.name, raw)
        return cls(**values)


def _parse(field: str, raw: str) -> object:
    """Convert one variable's text to the field's type; range checks are __post_init__'s."""
    if field in _INT_RANGES:
        lo, hi = _INT_RANGES[field]
        try:
            return int(raw)
        except ValueError:
            raise _bad(field, f"an integer in [{lo}, {hi}]", raw) from None
    if field == "room_idle_seconds":
        try:
            return float(raw)
        except ValueError:
            raise _bad(field, "a number of seconds > 0", raw) from None
    if field == "log_level":
        return raw.lower()
    if field == "trust_proxy_headers":
        flags = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
        if raw.lower() not in flags:
            raise _bad(field, "true or false", raw)
        return flags[raw.lower()]
    if field == "allowed_origins":
        return tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    return raw
