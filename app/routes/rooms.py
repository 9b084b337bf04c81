"""Presenter rooms: create one, watch one (`/room/CODE`, read-only over `/ws/room/CODE`)."""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, HTTPException, Request, WebSocket
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from starlette.websockets import WebSocketDisconnect

from app.core.schemas import VoteMessage, first_error
from app.core.security import origin_refusal
from app.core.wire import decode, encode
from app.live.messages import RateLimit, receive_within
from app.rooms.codes import normalise_code
from app.rooms.hub import RoomError, RoomHub
from app.rooms.room import Room, Viewer, VoteError
from app.routes.vendor import PLOTLY_URL, PLOTLY_VERSION
from app.server.connections import FORBIDDEN
from app.share.address import reachable_base_url

router = APIRouter()

CLOSE_REASON_BYTES = 120  # a WebSocket close reason holds at most 123 bytes
VOTE_BYTES = 200  # a vote is a few dozen bytes: anything longer is not read as one
READ_ONLY = ('{"type":"error","message":"viewers watch read-only: only the presenter controls '
             'this run (a viewer may only vote)","field":"type","code":"read_only"}')


def _reason(text: str) -> str:
    return text.encode()[:CLOSE_REASON_BYTES].decode("utf-8", "ignore")


@router.post("/api/rooms", status_code=201)
async def create_room(request: Request) -> dict[str, str]:
    """A new room: its code, the presenter's token (send it over the socket, never in a URL)."""
    hub = request.app.state.rooms
    try:
        code, token = await hub.create()
    except RoomError as exc:
        raise HTTPException(status_code=429 if exc.code == "too_many_rooms" else 503,
                            detail=str(exc)) from None
    # The configured or detected address, never a Host header this server does not answer to.
    base = reachable_base_url(request, request.app.state.settings)
    return {"code": code, "token": token, "viewer_url": f"{base}/room/{code}"}


@router.get("/room/{code}", response_class=HTMLResponse, include_in_schema=False)
async def room_page(request: Request, code: str) -> HTMLResponse:
    """The same page, read-only: it watches the room's presenter live.

    A code with no room (mistyped, or ended) gets the page with status 404: it says so and
    asks for another code instead of waiting for a room that will not come.
    """
    missing = not await request.app.state.rooms.exists(code)
    return request.app.state.templates.TemplateResponse(
        request,
        "index.html",
        {"plotly_src": f"{PLOTLY_URL}?v={PLOTLY_VERSION}", "room_code": normalise_code(code),
         "room_missing": missing},
        status_code=404 if missing else 200,
    )


@router.websocket("/ws/room/{code}")
async def room_socket(websocket: WebSocket, code: str) -> None:
    """A viewer: the run so far, then live messages; anything it sends gets an error."""
    hub = websocket.app.state.rooms
    connections = websocket.app.state.connections
    await websocket.accept()
    refusal = origin_refusal(websocket, websocket.app.state.settings)
    if refusal:
        await websocket.close(code=FORBIDDEN, reason=_reason(refusal))
        return
    viewer = Viewer()
    try:
        room = await hub.join(code, viewer)
    except RoomError as exc:
        close_code = {"unknown_room": 4404, "room_full": 4429}.get(exc.code, 1011)
        await websocket.close(code=close_code, reason=_reason(str(exc)))
        return
    connections.add(websocket)

    async def sender(scope: anyio.CancelScope) -> None:
        try:
            while (text := await viewer.next()) is not None:
                await websocket.send_text(text)
            await websocket.close(code=4000, reason=_reason(viewer.closed_reason or "closed"))
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        finally:
            scope.cancel()

    async def receiver(scope: anyio.CancelScope) -> None:
        # Each message gets an answer in the viewer's queue: without the socket's rate limit,
        # a client that sends without reading would grow that queue without bound.
        limit = RateLimit(websocket.app.state.settings)
        try:
            while (raw := await receive_within(websocket, limit)) is not None:
                if limit.refused:  # ignored
                    continue
                viewer.push(await _answer(hub, room, viewer, raw))
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        finally:
            scope.cancel()

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(sender, tg.cancel_scope)
            tg.start_soon(receiver, tg.cancel_scope)
    finally:
        connections.release(websocket)
        with anyio.CancelScope(shield=True):
            await hub.leave(room, viewer)


def _as_vote(raw: dict[str, Any]) -> dict[str, Any] | None:
    """The message as a JSON object of type `vote`, or None (then it is refused as read-only)."""
    text = raw.get("text")
    if not text or len(text) > VOTE_BYTES:
        return None
    try:
        data = decode(text)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) and data.get("type") == "vote" else None


async def _answer(hub: RoomHub, room: Room, viewer: Viewer, raw: dict[str, Any]) -> str:
    """A viewer's message answered: a vote counted (`voted`) or refused (`bad_vote`); anything
    else is `read_only`."""
    data = _as_vote(raw)
    if data is None:
        return READ_ONLY
    try:
        vote = VoteMessage.model_validate(data)
        await hub.vote(room, viewer, vote.id, vote.choice)
    except ValidationError as exc:
        field, message, _ = first_error(exc)
        return encode({"type": "error", "message": message, "field": field, "code": "bad_vote"})
    except VoteError as exc:
        return encode({"type": "error", "message": str(exc), "field": exc.field,
                       "code": "bad_vote"})
    except RoomError as exc:
        return encode({"type": "error", "message": str(exc), "field": None, "code": exc.code})
    return encode({"type": "voted", "id": vote.id, "choice": vote.choice})
