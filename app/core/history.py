"""What a session and a room keep of a run: past their bound, the older half is thinned."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def thin(items: list[T]) -> list[T]:
    """Every other item of the older half, then the newer half whole (the page does the same)."""
    half = len(items) // 2
    return items[:half:2] + items[half:]
