"""Points waiting to go out, merged per run into one frame: a session's and a room's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class PendingFrame:
    """Points computed or received but not yet sent; the frame keeps its first points' time."""

    def __init__(self) -> None:
        self.runs: dict[str, list[Any]] = {}
        self.t: float | None = None

    def __bool__(self) -> bool:
        return bool(self.runs)

    def add(self, runs: Mapping[str, list[Any]], t: float) -> None:
        """Merge each run's new points after the ones already waiting."""
        if self.t is None:
            self.t = t
        for name, points in runs.items():
            self.runs.setdefault(name, []).extend(points)

    def take(self) -> tuple[dict[str, list[Any]], float | None]:
        """The merged points and their time; the frame is empty again."""
        runs, t = self.runs, self.t
        self.runs, self.t = {}, None
        return runs, t
