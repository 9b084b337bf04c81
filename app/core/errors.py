"""One error body for the whole HTTP API: `{"detail": sentence, "field": ..., "code": ...}`.

Request validation errors are said the way the socket says them (the field and its allowed
range, the offending value quoted with `repr`, so a NaN or a lone surrogate in a body can never
break the response), and the OpenAPI schema documents this body for every error response.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from app.core.schemas import describe

PROBLEM_SCHEMA = {
    "title": "Problem",
    "type": "object",
    "properties": {
        "detail": {"type": "string", "description": "what is wrong, in one sentence"},
        "field": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "code": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    },
    "required": ["detail"],
}


async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 naming the first bad field and its allowed range."""
    errors = exc.errors()
    if not errors:
        return JSONResponse({"detail": "the request is not valid"}, status_code=422)
    error = dict(errors[0])
    loc = list(error.get("loc", ()))
    if loc[:1] == ["body"]:
        loc = loc[1:]
    error["loc"] = tuple(loc)
    field, message, code = describe(error)
    return JSONResponse({"detail": message, "field": field, "code": code}, status_code=422)


def install(app: FastAPI) -> None:
    """Register the handler and make the OpenAPI schema document the error body everywhere."""
    app.add_exception_handler(RequestValidationError, validation_error)
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas["HTTPValidationError"] = PROBLEM_SCHEMA
        problem = {"description": "An error: what is wrong, and which field",
                   "content": {"application/json": {
                       "schema": {"$ref": "#/components/schemas/HTTPValidationError"}}}}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                operation.setdefault("responses", {})["default"] = problem
        app.openapi_schema = schema
        return schema

    app.openapi = openapi
