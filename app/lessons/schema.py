"""What a lesson file holds, as pydantic models (also the responses of `GET /api/lessons`).

Every text is given in English and Korean. A step's config is a whole `TrainConfig`, checked as
a socket `start` checks it; its question has the shape a class vote asks (a prompt of at most
200 characters, 2 to 6 choices of at most 80), with optionally the expected choice (`answer`)
and what it is about (`about`: one of the step's runs, or a counter the page shows).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.core.schemas import (
    MAX_CHOICE_CHARS,
    MAX_CHOICES,
    MAX_LESSON_STEPS,
    MAX_PROMPT_CHARS,
    ConfigError,
    Int,
    TrainConfig,
)

MAX_STEPS = MAX_LESSON_STEPS
MAX_TITLE = 80
MAX_TEXT = 1500
MAX_PROMPT, MAX_CHOICE = MAX_PROMPT_CHARS, MAX_CHOICE_CHARS  # a question: what a vote's `ask` allows
#: Counters a question may be about, besides a run of the step's config.
COUNTERS = ("loss", "iterations", "epochs", "samples")
ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _text(limit: int) -> object:
    return Annotated[str, Field(min_length=1, max_length=limit)]


class Title(_Strict):
    """A title in both languages (at most 80 characters each)."""

    en: _text(MAX_TITLE)  # type: ignore[valid-type]
    ko: _text(MAX_TITLE)  # type: ignore[valid-type]


class Text(_Strict):
    """A step's explanation in both languages (at most 1,500 characters each)."""

    en: _text(MAX_TEXT)  # type: ignore[valid-type]
    ko: _text(MAX_TEXT)  # type: ignore[valid-type]


class Prompt(_Strict):
    """A question's prompt in both languages (at most 200 characters each)."""

    en: _text(MAX_PROMPT)  # type: ignore[valid-type]
    ko: _text(MAX_PROMPT)  # type: ignore[valid-type]


class Choice(_Strict):
    """One answer to choose, in both languages (at most 80 characters each)."""

    en: _text(MAX_CHOICE)  # type: ignore[valid-type]
    ko: _text(MAX_CHOICE)  # type: ignore[valid-type]


class Question(_Strict):
    """What the class predicts before the step runs."""

    prompt: Prompt
    choices: Annotated[list[Choice], Field(min_length=2, max_length=MAX_CHOICES)]
    answer: Int(0, MAX_CHOICES - 1) | None = None  # the expected choice (0 = the first)
    about: Annotated[str, Field(min_length=1, max_length=40)] | None = None

    @model_validator(mode="after")
    def _answer_is_a_choice(self) -> Question:
        if self.answer is not None and self.answer >= len(self.choices):
            raise ConfigError("answer", f"answer must be a choice's index in "
                              f"[0, {len(self.choices) - 1}], got {self.answer}")
        return self


class Step(_Strict):
    """One step: what to read, the config to run, and optionally a question."""

    title: Title
    text: Text
    config: TrainConfig = Field(default_factory=TrainConfig)
    question: Question | None = None

    @model_validator(mode="after")
    def _about_is_known(self) -> Step:
        about = self.question.about if self.question else None
        runs = [run.name for run in self.config.runs]
        if about is not None and about not in runs and about not in COUNTERS:
            raise ConfigError("question.about", f"question.about must be one of the step's runs "
                              f"({', '.join(runs)}) or {', '.join(COUNTERS)}, got {about!r}")
        return self


class Lesson(_Strict):
    """A lesson: an id (its address: `?lesson=ID`), a title and its steps in order."""

    id: Annotated[str, Field(pattern=ID_PATTERN)]
    title: Title
    steps: Annotated[list[Step], Field(min_length=1, max_length=MAX_STEPS)]


class LessonSummary(BaseModel):
    """One lesson in `GET /api/lessons`: its id, title and number of steps."""

    id: str
    title: Title
    steps: int
