"""Lessons: the source note taught step by step, each step a config to run and a question.

A lesson is a TOML file (the built-in ones in the top-level `lessons/` folder, a teacher's in
`DESCENT_LESSONS_DIR`); `schema.py` says what a file holds, `loader.py` reads and checks every
file at start-up (a bad one stops it, naming the file, the step and the field).
"""

from app.lessons.loader import LessonError, load_lessons
from app.lessons.schema import Lesson, LessonSummary

__all__ = ["Lesson", "LessonError", "LessonSummary", "load_lessons"]
