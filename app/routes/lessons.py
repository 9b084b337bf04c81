"""The lessons: `GET /api/lessons` (a list) and `GET /api/lessons/{id}` (one, whole)."""

from fastapi import APIRouter, HTTPException, Request

from app.lessons import Lesson, LessonSummary

router = APIRouter(prefix="/api")


@router.get("/lessons", response_model=list[LessonSummary])
def lessons(request: Request) -> list[LessonSummary]:
    """Every lesson this server has: its id, title (en, ko) and number of steps."""
    return [LessonSummary(id=lesson.id, title=lesson.title, steps=len(lesson.steps))
            for lesson in request.app.state.lessons.values()]


@router.get("/lessons/{lesson_id}", response_model=Lesson,
            responses={404: {"description": "No lesson has this id"}})
def lesson(lesson_id: str, request: Request) -> Lesson:
    """One lesson, every step with its texts, its whole config and its question (or null)."""
    found = request.app.state.lessons.get(lesson_id)
    if found is None:
        known = ", ".join(request.app.state.lessons) or "none"
        shown = lesson_id if len(lesson_id) <= 64 else lesson_id[:61] + "..."
        raise HTTPException(404, f"no lesson {shown!r}; the lessons are: {known}")
    return found
