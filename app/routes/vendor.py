"""plotly.js, served from the installed ``plotly`` Python package (no CDN).

The file is read and gzipped once, on first request. Its URL carries the package's
version (``?v=``) so browsers may cache it for a year.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.metadata
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request, Response

PLOTLY_URL = "/static/vendor/plotly.min.js"
PLOTLY_VERSION = importlib.metadata.version("plotly")
CACHE_CONTROL = "public, max-age=31536000, immutable"

router = APIRouter()


def plotly_js_path() -> Path:
    """plotly.min.js inside the installed plotly package (found without importing it)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the plotly package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"


@dataclass(frozen=True)
class _Asset:
    body: bytes
    gzipped: bytes
    etag: str


@functools.cache
def _plotly_asset() -> _Asset:
    body = plotly_js_path().read_bytes()
    return _Asset(body, gzip.compress(body, 6), hashlib.sha256(body).hexdigest()[:20])


@router.api_route(PLOTLY_URL, methods=["GET", "HEAD"], include_in_schema=False)
def plotly_js(request: Request) -> Response:
    asset = _plotly_asset()
    use_gzip = "gzip" in request.headers.get("accept-encoding", "").lower()
    etag = f'"{asset.etag}-gz"' if use_gzip else f'"{asset.etag}"'
    headers = {"Cache-Control": CACHE_CONTROL, "ETag": etag, "Vary": "Accept-Encoding"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    if use_gzip:
        headers["Content-Encoding"] = "gzip"  # GZipMiddleware leaves encoded bodies alone
    body = asset.gzipped if use_gzip else asset.body
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)
