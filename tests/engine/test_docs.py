"""The examples in the engine's docstring and the README's notebook snippet really run."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import engine

README = Path(__file__).resolve().parents[2] / "README.md"


def test_engine_docstring_example():
    result = doctest.testmod(engine)
    assert result.attempted > 0 and result.failed == 0


def test_readme_notebook_snippet_runs():
    text = README.read_text(encoding="utf-8")
    section = text.split("## The engine in a notebook", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    assert len(namespace["steps"]) == 50  # 1,000 / 100 = 10 per epoch, x 5 epochs
    assert namespace["surf"].z.shape == (51, 51)
