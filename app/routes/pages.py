"""HTML pages, rendered from templates/."""

from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.core.colors import RUN_COLORS, RUN_DASHES, RUN_SYMBOLS
from app.core.schemas import DEFAULT_RUNS, TrainConfig, form_bounds
from app.lessons import Lesson
from app.routes.vendor import PLOTLY_URL, PLOTLY_VERSION
from app.share.address import listens_only_here
from app.share.links import Notice, page_options, preferred_language, query_to_config

router = APIRouter()


def page_facts(settings: Any) -> dict[str, Any]:
    """What every page takes from the server instead of writing it again (its data block)."""
    # local_only: no phone can open a link to this server, so the page offers no QR code;
    # max_upload_mb: a bigger file is refused before it is sent (DESCENT_MAX_UPLOAD_MB)
    return {"run_colors": list(RUN_COLORS), "run_dashes": list(RUN_DASHES),
            "run_symbols": list(RUN_SYMBOLS),
            "default_runs": [run.model_dump(mode="json") for run in DEFAULT_RUNS],
            "local_only": listens_only_here(settings.host),
            "bounds": form_bounds(),  # the form's checks name the schema's ranges
            "max_upload_mb": settings.max_upload_mb}


def link_context(pairs: Iterable[tuple[str, str]], accept_language: str | None,
                 lessons: Mapping[str, Lesson] | None = None) -> dict[str, Any]:
    """What the page needs from its link: the config to load, notices, autoplay, language, and
    the lesson step to show (`lesson=ID&step=K`; its config unless the link gives a config)."""
    pairs = list(pairs)
    config, notices = query_to_config(pairs)
    options = page_options(pairs)
    lesson = None
    if options.lesson is not None:
        found = (lessons or {}).get(options.lesson)
        if found is None:
            notices.append(Notice("lesson", options.lesson, f"no lesson {options.lesson!r}; "
                                  f"the lessons are: {', '.join(lessons or {}) or 'none'}"))
        else:
            step = min(options.step, len(found.steps))
            lesson = {"id": found.id, "step": step}
            if not any(key in TrainConfig.model_fields for key, _ in pairs):
                config = found.steps[step - 1].config
    return {
        "initial_config": config.model_dump(mode="json"),
        "notices": [notice.as_dict() for notice in notices],
        "autoplay": options.autoplay,
        "lang": options.lang or preferred_language(accept_language),
        "lesson": lesson,
    }


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def index(request: Request) -> HTMLResponse:
    """The playground, set up from the link's query (a bad link still renders, with notices)."""
    context = link_context(
        request.query_params.multi_items(), request.headers.get("accept-language"),
        request.app.state.lessons,
    )
    context["plotly_src"] = f"{PLOTLY_URL}?v={PLOTLY_VERSION}"
    return request.app.state.templates.TemplateResponse(request, "index.html", context)
