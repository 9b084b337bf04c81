"""Classroom tools: share links, QR codes, exports of a comparison and checks of exported files."""

from __future__ import annotations

import io
import math
from typing import Annotated, Any, Literal
from urllib.parse import quote

import segno
from fastapi import APIRouter, Body, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, ValidationError

from app.core.csvdata import CsvError, parse_csv
from app.core.schemas import LessonRef, TrainConfig, first_error
from app.export.compute import parse_request, plan
from app.export.formats import FORMATS, export, filename
from app.export.validate import parse_upload
from app.server.heavy import accepts_gzip, heavy_response, heavy_work
from app.share.address import reachable_base_url
from app.share.links import (
    Notice,
    PageOptions,
    config_to_query,
    data_in_link,
    page_options,
    parse_query,
    query_to_config,
    share_url,
)

router = APIRouter(prefix="/api")

#: Longest text one QR code may carry (a share link stays well below it).
MAX_QR_CHARS = 2000
#: Smallest side, in px, of the QR code's SVG before the page scales it.
QR_MIN_PIXELS = 600
QR_BORDER = 2


class LinkRequest(BaseModel):
    """`POST /api/link`: a config (strict) or a link's query (lenient), plus page options."""

    model_config = ConfigDict(extra="forbid")

    config: dict[str, Any] | None = None
    query: str | None = None
    autoplay: bool | None = None
    lang: Literal["ko", "en"] | None = None
    lesson: LessonRef | None = None  # the lesson step on screen: the link opens it too


def _unprocessable(message: str) -> HTTPException:
    return HTTPException(status_code=422, detail=message)


def _share_body(
    request: Request, config: TrainConfig, notices: list[Notice], options: PageOptions
) -> dict[str, Any]:
    """The JSON both share endpoints answer with."""
    base = reachable_base_url(request, request.app.state.settings)
    url = share_url(base, config, options)
    return {"config": config.model_dump(mode="json"), "notices": [n.as_dict() for n in notices],
            "query": config_to_query(config), "url": url}


def qr_svg_url(text: str) -> str | None:
    """The path of `text`'s QR code, or None if `text` is too long for one."""
    return f"/api/qr.svg?data={quote(text, safe='')}" if len(text) <= MAX_QR_CHARS else None


@router.get("/share")
def share(request: Request) -> dict[str, Any]:
    """Read a link's query: the resolved config, what was ignored, the canonical query and URL."""
    pairs = request.query_params.multi_items()
    config, notices = query_to_config(pairs)
    return _share_body(request, config, notices, page_options(pairs))


def _link_config(body: LinkRequest) -> tuple[TrainConfig, list[Notice], PageOptions]:
    if (body.config is None) == (body.query is None):
        raise _unprocessable('give either "config" (an object) or "query" (a link\'s query)')
    if body.query is not None:
        pairs = parse_query(body.query)
        config, notices = query_to_config(pairs)
        return config, notices, page_options(pairs)
    try:
        return TrainConfig.model_validate(body.config), [], PageOptions()
    except ValidationError as exc:
        raise _unprocessable(first_error(exc, "config.")[1]) from None


@router.post("/link")
def link(request: Request, body: Annotated[Any, Body()] = None) -> dict[str, Any]:
    """A share link students can open, and the path of its QR code."""
    try:
        parsed = LinkRequest.model_validate(body if body is not None else {})
    except ValidationError as exc:
        raise _unprocessable(first_error(exc)[1]) from None
    config, notices, options = _link_config(parsed)
    options = PageOptions(
        autoplay=options.autoplay if parsed.autoplay is None else parsed.autoplay,
        lang=parsed.lang or options.lang,
        lesson=parsed.lesson.id if parsed.lesson else options.lesson,
        step=parsed.lesson.step if parsed.lesson else options.step,
    )
    answer = _share_body(request, config, notices, options)
    return {"url": answer["url"], "query": answer["query"], "qr_svg_url": qr_svg_url(answer["url"]),
            "notices": answer["notices"], "points_left_out": not data_in_link(config)}


def qr_svg(text: str) -> bytes:
    """`text` as a QR code SVG: error correction M, a 2-module border, at least 600 px wide."""
    qr = segno.make_qr(text, error="m", boost_error=False)
    modules = qr.symbol_size(scale=1, border=QR_BORDER)[0]
    scale = max(4, math.ceil(QR_MIN_PIXELS / modules))
    out = io.BytesIO()
    qr.save(out, kind="svg", scale=scale, border=QR_BORDER, dark="#000", light="#fff",
            title="QR code", xmldecl=True)
    return out.getvalue()


@router.get("/qr.svg", response_class=Response,
            responses={200: {"content": {"image/svg+xml": {}}, "description": "an SVG QR code"}})
def qr(data: str = "") -> Response:
    """The QR code of `data` (1 to 2,000 characters), drawn on the server."""
    if not 1 <= len(data) <= MAX_QR_CHARS:
        raise _unprocessable(f"data must be 1 to {MAX_QR_CHARS} characters, got {len(data)}")
    try:
        svg = qr_svg(data)
    except segno.DataOverflowError:
        raise _unprocessable("data is too much for one QR code; shorten it") from None
    return Response(svg, media_type="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=86400"})


async def _read_capped(request: Request, limit_mb: int) -> bytes:
    """The request body, or 413 as soon as it is known to exceed `limit_mb` MB (from its
    Content-Length, before reading any of it, or while it streams in)."""
    limit = limit_mb * 1024 * 1024
    too_big = HTTPException(status_code=413, detail=f"the file is larger than {limit_mb} MB, "
                            "the most this server accepts (DESCENT_MAX_UPLOAD_MB)")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/export/check")
async def check_export(request: Request) -> dict[str, bool]:
    """Whether an uploaded file is a JSON export the page can replay (422 says what is wrong)."""
    settings = request.app.state.settings
    body = await _read_capped(request, settings.max_upload_mb)
    try:
        await heavy_work(request).run(parse_upload, body, settings)
    except ValueError as exc:
        raise _unprocessable(str(exc)) from None
    return {"ok": True}


@router.post("/data/csv")
async def data_from_csv(request: Request, task: Literal["regression", "binary", "multiclass"]
                        = "regression") -> Any:
    """A pasted or uploaded CSV (the body, as text) as custom data `{"task", "X", "y"}`; 422 with
    `problems` (code and line of the first bad rows) when a row is bad. `task` reads two
    columns: `x,y` for regression, `x,label` otherwise."""
    settings = request.app.state.settings
    body = await _read_capped(request, settings.max_upload_mb)
    try:
        text = body.decode("utf-8-sig")
        return await heavy_work(request).run(parse_csv, text, task)
    except UnicodeDecodeError:
        raise _unprocessable("the file is not UTF-8 text") from None
    except CsvError as exc:
        return JSONResponse({"detail": str(exc), "field": "text", "code": "bad_value",
                             "problems": exc.problems}, status_code=422)


@router.post("/export/{fmt}", response_class=Response, responses={200: {
    "content": {"text/csv": {}, "application/json": {}, "text/html": {}},
    "description": "the file, as an attachment"}})
async def export_run(fmt: Literal[tuple(FORMATS)], request: Request,  # type: ignore[valid-type]
                     body: Annotated[Any, Body()] = None) -> Response:
    """The comparison recomputed and cut where each run was: as CSV, JSON or an HTML report."""
    if fmt not in FORMATS:
        raise HTTPException(status_code=404,
                            detail=f"unknown export format {fmt[:20]!r}; use csv, json or html")
    settings = request.app.state.settings
    gzip = accepts_gzip(request)
    try:
        parsed = parse_request(body)
        plan(parsed.config, parsed.iterations, settings)  # refused before any work
    except ValueError as exc:
        raise _unprocessable(str(exc)) from None
    name = filename(parsed.config, fmt)

    def answer() -> Response:
        return heavy_response(export(fmt, parsed, settings), FORMATS[fmt], gzip,
                              {"Content-Disposition": f'attachment; filename="{name}"'})

    try:
        return await heavy_work(request).run(answer)
    except ValueError as exc:
        raise _unprocessable(str(exc)) from None
