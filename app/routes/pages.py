"""HTML pages, rendered from templates/."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.routes.vendor import PLOTLY_URL, PLOTLY_VERSION

router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def index(request: Request) -> HTMLResponse:
    return request.app.state.templates.TemplateResponse(
        request, "index.html", {"plotly_src": f"{PLOTLY_URL}?v={PLOTLY_VERSION}"}
    )
