"""Read and check every lesson file at start-up: the built-in ones, then a teacher's folder.

A file that is not TOML, or any of whose steps does not hold (its config refused as a socket
`start` would refuse it, a run longer than the server allows, a question without 2 to 6
choices...), raises `LessonError` naming the file, the step and the field: the server does not
start with a lesson that would fail in front of a class.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from app.core.paths import LESSONS_DIR
from app.core.schemas import first_error
from app.core.settings import Settings
from app.lessons.schema import Lesson, Step
from app.share.links import FULL
from engine.problem import iterations_per_epoch

#: Largest lesson file read (a long lesson is a few KiB), and lesson files in one folder.
MAX_FILE_BYTES = 256 * 1024
MAX_FILES = 100


class LessonError(ValueError):
    """A lesson file that cannot be used: `file`, `step` (1-based, or None) and `field` say where."""

    def __init__(self, file: Path, step: int | None, field: str, message: str) -> None:
        where = f"{file}: step {step}" if step is not None else str(file)
        super().__init__(f"{where}: {message}")
        self.file, self.step, self.field = file, step, field


def _check_length(file: Path, k: int, step: Step, limit: int | None) -> None:
    """Refuse a step one of whose runs is longer than `limit` iterations (as a start would)."""
    config = step.config
    for run in config.runs if limit is not None else ():
        per_epoch = iterations_per_epoch(config.rows, run.batch_size)  # custom: its points
        if per_epoch * config.epochs > limit:
            raise LessonError(file, k, "config.epochs", (
                f"config.epochs: run {run.name!r} would take {per_epoch * config.epochs:,} "
                f"iterations ({config.epochs} epochs x {per_epoch:,} per epoch); this server "
                f"allows at most {limit:,} per run (DESCENT_MAX_ITERATIONS_PER_RUN)"))


def _nulls(step: dict[str, Any]) -> dict[str, Any]:
    """TOML has no null: a run's `batch_size = "full"` is a full batch (as in a share link)."""
    config = step.get("config")
    runs = config.get("runs") if isinstance(config, dict) else None
    if not isinstance(runs, list):
        return step
    runs = [{**run, "batch_size": None} if isinstance(run, dict) and run.get("batch_size") == FULL
            else run for run in runs]
    return {**step, "config": {**config, "runs": runs}}


def _steps(file: Path, raw: Any, limit: int | None) -> list[Step]:
    if not isinstance(raw, list) or not all(isinstance(s, dict) for s in raw):
        raise LessonError(file, None, "steps", "steps: a lesson needs its steps as [[steps]] tables")
    steps = []
    for k, item in enumerate(raw, start=1):
        try:
            step = Step.model_validate(_nulls(item))
        except ValidationError as exc:
            field, message, _code = first_error(exc)
            raise LessonError(file, k, field, message) from None
        _check_length(file, k, step, limit)
        steps.append(step)
    return steps


def read_lesson(file: Path, settings: Settings, builtin: bool = False) -> Lesson:
    """One lesson file, checked; LessonError says what is wrong and where. A teacher's steps are
    checked against this server's DESCENT_MAX_ITERATIONS_PER_RUN too; the built-in ones are not
    (a server run with a small cap still starts; such a step's start is refused naming it)."""
    try:
        with file.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise LessonError(file, None, "file", f"cannot be read: {exc.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise LessonError(file, None, "file", f"is larger than {MAX_FILE_BYTES // 1024} KiB")
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise LessonError(file, None, "file", f"is not valid TOML (UTF-8): {exc}") from None
    steps = _steps(file, document.get("steps"),
                   None if builtin else settings.max_iterations_per_run)
    try:
        return Lesson.model_validate({**document, "steps": steps})
    except ValidationError as exc:
        field, message, _code = first_error(exc)
        raise LessonError(file, None, field, message) from None


def lesson_files(folder: Path) -> list[Path]:
    """The lesson files of a folder (`*.toml`), by name."""
    files = sorted(path for path in folder.glob("*.toml") if path.is_file())
    if len(files) > MAX_FILES:
        raise LessonError(folder, None, "folder", f"holds {len(files)} lesson files; "
                          f"at most {MAX_FILES} are read")
    return files


def load_lessons(settings: Settings, builtin: Path = LESSONS_DIR) -> dict[str, Lesson]:
    """Every lesson by id: the built-in ones, then those of `DESCENT_LESSONS_DIR`."""
    folders = [builtin] + ([Path(settings.lessons_dir)] if settings.lessons_dir else [])
    lessons: dict[str, Lesson] = {}
    found: dict[str, Path] = {}
    for folder in folders:
        for file in lesson_files(folder):
            lesson = read_lesson(file, settings, builtin=folder == builtin)
            if lesson.id in found:
                raise LessonError(file, None, "id", f"id: {lesson.id!r} is already the id of "
                                  f"{found[lesson.id]}; every lesson needs its own")
            lessons[lesson.id], found[lesson.id] = lesson, file
    return lessons
