"""Surfaces shared by the races that would compute the same one (issue 17).

A class that opens the teacher's link builds the same race dozens of times: the same data, the
same start, and (runs being deterministic from their seed) the same paths when the plane is
fitted to them. A surface is a pure function of its inputs, so it is kept under a digest of
them and the first race's serves the others: a 31 x 31 projected grid costs ~10 ms of CPU, and a
100-session server computed hundreds of them. Surfaces are frozen, so sharing one is safe.

Bounded in bytes (MAX_BYTES, least recently used first out), whatever clients ask for.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import numpy as np

from engine.surface import Surface

MAX_BYTES = 16 * 2**20  #: the kept surfaces' arrays, at most

_kept: OrderedDict[bytes, tuple[Surface, int]] = OrderedDict()
_building: dict[bytes, Future] = {}  # surfaces being built, by key: one entry per builder
_lock = threading.Lock()
_bytes = 0


def digest(*parts: Any) -> bytes:
    """A digest of arrays (dtype, shape and bytes) and plain values (their repr)."""
    h = hashlib.blake2b(digest_size=20)
    for part in parts:
        if isinstance(part, np.ndarray):
            h.update(f"{part.dtype}{part.shape}".encode())
            h.update(memoryview(np.ascontiguousarray(part)).cast("B"))  # read in place
        else:
            h.update(repr(part).encode())
        h.update(b"\0")
    return h.digest()


def nbytes(surface: Surface) -> int:
    """What a kept surface holds: its arrays, its paths' and their residual shares."""
    arrays = [surface.x, surface.y, surface.z, surface.center, surface.directions,
              *surface.paths.values()]
    if surface.residual:
        arrays += surface.residual.get("per_path", {}).values()
    return sum(a.nbytes for a in arrays) + 1024


def shared(key: bytes, build: Callable[[], Surface]) -> Surface:
    """The surface kept under `key`, or `build()`'s, kept. A race that asks while another
    builds the same surface waits for it: a class that presses Start together reaches its
    first refit together, and one of them computes it (others raise what the builder raised)."""
    global _bytes
    with _lock:
        if key in _kept:
            _kept.move_to_end(key)
            return _kept[key][0]
        pending = _building.get(key)
        mine = pending is None
        if mine:
            pending = _building[key] = Future()
    if not mine:
        return pending.result()
    try:
        surface = build()
    except BaseException as exc:
        with _lock:
            del _building[key]
        pending.set_exception(exc)
        raise
    size = nbytes(surface)
    with _lock:
        del _building[key]
        if size <= MAX_BYTES:
            _kept[key] = (surface, size)
            _bytes += size
            while _bytes > MAX_BYTES:
                _bytes -= _kept.popitem(last=False)[1][1]
    pending.set_result(surface)
    return surface


def kept_bytes() -> int:
    """The bytes the kept surfaces hold (for tests and the health page)."""
    return _bytes
