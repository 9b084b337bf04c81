"""The page's own files (/static): revalidated on every load, and JS and CSS sent minified.

The sources keep their comments for the reader; the network carries them without (rJSmin and
rCSSmin, which know strings, regular expressions and template literals: a hand-written
stripper would not). That keeps the page's JS + CSS within its 64 KiB gzipped budget (issue 12)
without a build step. A file is minified once per version (path, size, mtime) and kept.

Gzipped, they are compressed by Zopfli: the same gzip format every browser reads, about 2.5 %
smaller than gzip -9, at a cost (about a second for the whole page) paid once per version in a
background thread (`warm` at start-up, and again for a file edited since). Until a file's
version is ready the app's GZipMiddleware compresses it as usual, so no request ever waits.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path

import rcssmin
import rjsmin
import zopfli.gzip
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response

MINIFIERS = {".js": rjsmin.jsmin, ".css": rcssmin.cssmin}
GZIP_MIN = 1000  # bytes: smaller bodies go as they are (the GZipMiddleware's minimum_size too)

_gzipped: dict[tuple[str, int, int], bytes] = {}  # (path, size, mtime) -> Zopfli's gzip
_busy: set[tuple[str, int, int]] = set()
_lock = threading.Lock()


@functools.lru_cache(maxsize=256)
def minified(path: str, size: int, mtime_ns: int) -> bytes:
    """The minified text of one version of a file (size and mtime are the cache's key)."""
    text = Path(path).read_text(encoding="utf-8")
    return MINIFIERS[Path(path).suffix](text).encode("utf-8")


def _compress(key: tuple[str, int, int]) -> None:
    body = zopfli.gzip.compress(minified(*key))
    with _lock:
        for old in [k for k in _gzipped if k[0] == key[0]]:  # one version per file is kept
            del _gzipped[old]
        _gzipped[key] = body
        _busy.discard(key)


def _version(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return str(path), stat.st_size, stat.st_mtime_ns


def warm(directory: Path) -> None:
    """Compress every JS and CSS file under `directory` (blocking: run it in a thread)."""
    for path in sorted(directory.rglob("*")):
        if path.suffix in MINIFIERS and (key := _version(path)) not in _gzipped:
            _compress(key)


def _gzipped_or_later(key: tuple[str, int, int]) -> bytes | None:
    """Zopfli's gzip of this version, or None while a background thread makes it."""
    with _lock:
        if key in _gzipped or key in _busy:
            return _gzipped.get(key)
        _busy.add(key)
    threading.Thread(target=_compress, args=(key,), daemon=True).start()
    return None


class PageAssets(StaticFiles):
    """Static files that browsers revalidate (a cheap 304) so a new deploy shows at once."""

    def file_response(self, full_path, stat_result, scope, status_code=200):
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.setdefault("Cache-Control", "no-cache")
        suffix = Path(full_path).suffix
        if not isinstance(response, FileResponse) or suffix not in MINIFIERS:
            return response  # a 304, or a file sent as it is
        key = (str(full_path), stat_result.st_size, stat_result.st_mtime_ns)
        body = minified(*key)
        # its own length, and no byte ranges: those would count in the source's bytes
        headers = {k: v for k, v in response.headers.items()
                   if k.lower() not in ("content-length", "accept-ranges")}
        if len(body) >= GZIP_MIN and "gzip" in Headers(scope=scope).get("accept-encoding", ""):
            packed = _gzipped_or_later(key)
            if packed is not None:  # (the GZipMiddleware leaves an encoded body alone)
                headers.update({"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
                return Response(packed, status_code=status_code, headers=headers)
        return Response(body, status_code=status_code, headers=headers)
