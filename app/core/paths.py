"""Where the Jinja2 templates and static files are, installed or in a checkout.

An installed wheel ships them as the package data ``app/templates`` and ``app/static``
(pyproject maps the top-level folders there); a checkout or an editable install keeps
them at the repository's top level, beside ``app/``.
"""

from pathlib import Path

_APP_DIR = Path(__file__).resolve().parent.parent  # app/, above app/core/


def _find(name: str, installed: str | None = None) -> Path:
    for candidate in (_APP_DIR / (installed or name), _APP_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise RuntimeError(f"cannot find the {name}/ folder next to {_APP_DIR} or in its parent")


TEMPLATES_DIR: Path = _find("templates")
STATIC_DIR: Path = _find("static")
# The built-in lessons: `lessons/` in a checkout, `app/lesson_files` installed (app/lessons is
# the code that reads them).
LESSONS_DIR: Path = _find("lessons", installed="lesson_files")
