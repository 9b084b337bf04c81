"""The page's labels on the server: read from static/js/i18n.js, the one place they are written.

The HTML report speaks the page's language with the page's own words ("Samples", "데이터 크기"),
so it reads the page's dictionaries instead of keeping a second copy. i18n.js writes one entry a
line, `"key": "text",` with JSON string escapes; any other line inside a dictionary is an error
here (a test compares the result with what Chromium imports), never silently skipped.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

from app.core.paths import STATIC_DIR

LANGS = ("en", "ko")
I18N_JS = STATIC_DIR / "js" / "i18n.js"
_OPEN = re.compile(r"^export const (en|ko) = \{$")
_ENTRY = re.compile(r'^\s*("(?:[^"\\]|\\.)*")\s*:\s*("(?:[^"\\]|\\.)*"),?$')


def parse_i18n(text: str) -> dict[str, dict[str, str]]:
    """The `en` and `ko` dictionaries of i18n.js's source text."""
    dicts: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if current is None:
            opened = _OPEN.match(line)
            if opened:
                current = dicts[opened.group(1)] = {}
            continue
        stripped = line.strip()
        if stripped == "};":
            current = None
        elif stripped and not stripped.startswith("//"):
            entry = _ENTRY.match(line)
            if not entry:
                raise ValueError(f"i18n.js line {number} is not one `\"key\": \"text\",` entry")
            current[json.loads(entry.group(1))] = json.loads(entry.group(2))
    missing = [lang for lang in LANGS if lang not in dicts]
    if missing:
        raise ValueError(f"i18n.js has no dictionary for {', '.join(missing)}")
    return dicts


@cache
def page_labels(path: Path = I18N_JS) -> dict[str, dict[str, str]]:
    """The page's dictionaries, read once."""
    return parse_i18n(path.read_text(encoding="utf-8"))


class Labels:
    """`t(key, **vars)` in one language, as the page's `t`: English, then the key, if missing."""

    def __init__(self, lang: str, extra: dict[str, dict[str, str]] | None = None) -> None:
        pages = page_labels()
        self.lang = lang if lang in LANGS else "en"
        self.words = {**pages["en"], **(extra or {}).get("en", {}),
                      **pages[self.lang], **(extra or {}).get(self.lang, {})}

    def __call__(self, key: str, **values: object) -> str:
        text = self.words.get(key, key)
        return re.sub(r"\{(\w+)\}",
                      lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0),
                      text)

    def value(self, prefix: str, value: object) -> str:
        """A dictionary entry for a value if there is one (a dataset's name), else the value."""
        return self.words.get(f"{prefix}{value}", str(value))
