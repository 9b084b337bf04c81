"""The page's own files (/static): revalidated on every load, and JS and CSS sent minified.

The sources keep their comments for the reader; the network carries them without (rJSmin and
rCSSmin, which know strings, regular expressions and template literals: a hand-written
stripper would not). That keeps the page's JS + CSS within its 64 KiB gzipped budget (issue 12)
without a build step. A file is minified once per version (path, size, mtime) and kept.
"""

from __future__ import annotations

import functools
from pathlib import Path

import rcssmin
import rjsmin
from fastapi.staticfiles import StaticFiles
from starlette.responses import FileResponse, Response

MINIFIERS = {".js": rjsmin.jsmin, ".css": rcssmin.cssmin}


@functools.lru_cache(maxsize=256)
def minified(path: str, size: int, mtime_ns: int) -> bytes:
    """The minified text of one version of a file (size and mtime are the cache's key)."""
    text = Path(path).read_text(encoding="utf-8")
    return MINIFIERS[Path(path).suffix](text).encode("utf-8")


class PageAssets(StaticFiles):
    """Static files that browsers revalidate (a cheap 304) so a new deploy shows at once."""

    def file_response(self, full_path, stat_result, scope, status_code=200):
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.setdefault("Cache-Control", "no-cache")
        suffix = Path(full_path).suffix
        if not isinstance(response, FileResponse) or suffix not in MINIFIERS:
            return response  # a 304, or a file sent as it is
        body = minified(str(full_path), stat_result.st_size, stat_result.st_mtime_ns)
        # its own length, and no byte ranges: those would count in the source's bytes
        headers = {k: v for k, v in response.headers.items()
                   if k.lower() not in ("content-length", "accept-ranges")}
        return Response(body, status_code=status_code, headers=headers)
