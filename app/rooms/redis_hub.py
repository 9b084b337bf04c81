"""Presenter rooms shared between processes over Redis (set REDIS_URL).

Sessions belong to one connection, so any worker serves them; rooms are shared state. The
presenter's worker publishes each (merged) message with a sequence number: it is appended to
the room's history list and sent on the room's channel. Every worker that has the presenter or
viewers of a room keeps a local `Room` mirror: it subscribes to the channel first, then loads
the history, then applies only live messages with a higher sequence number, so a late joiner
on any worker gets every point exactly once, in order. The room's existence, its token's hash,
viewer counts and history are Redis keys that expire after the idle timeout.

The caps are checked and acted on in one Lua script each, so workers cannot all pass a check
at once: a room is made only while there are fewer than `max_rooms`, a viewer is counted only
while the room has fewer than `max_viewers`. Each worker counts its viewers of a room in its
own field, +1 on join and -1 on leave (so the order the increments land in does not matter),
and holds a lease it renews while it lives: the counts of a worker that died stop counting
when its lease runs out.

A class vote's question is kept in the room's hash and each vote in the room's `votes` hash
(app/rooms/redis_store.py), so no worker holds a vote only in its memory: a vote on any worker
is announced on the channel, and the workers that have the room's presenter (or whose viewers
see the revealed tally) count the hash again, at most ~5 times per second.

If Redis goes away, viewers get a close frame saying so and the presenter a `room_lost`
message; the presenter's own session keeps running (publishing never blocks it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from app.core.wire import decode, encode
from app.rooms.codes import new_code, new_token, normalise_code, token_hash, token_matches
from app.rooms.hub import RoomError, RoomHub
from app.rooms.redis_store import (
    ASK,
    COUNT,
    CREATE,
    END_OR_REVEAL,
    JOIN,
    LEAVE,
    PRESENCE,
    RENEW,
    ROOMS,
    VOTE,
    WORKERS,
    keep_alive,
    publish,
    room_keys,
)
from app.rooms.room import VOTE_EVERY, Room, Viewer, check_vote, tally, too_many_voters

log = logging.getLogger("descent.rooms")

LEASE_SECONDS = 60.0  # a worker's viewer counts stop counting this long after it died
MAX_CONNECTIONS = 64  # per worker
GONE = "the room service (Redis) is unavailable; reconnecting will not help until it is back"


class RedisRoomHub(RoomHub):
    """Rooms in Redis, with a local mirror per room on each worker that serves it."""

    def __init__(self, url: str, max_rooms: int, max_viewers: int, idle_seconds: float,
                 **room_limits: int) -> None:
        super().__init__(max_rooms, max_viewers, idle_seconds, **room_limits)
        # A blocking pool: a class joining at once waits for a connection instead of failing
        # ("Too many connections"); each room's subscription holds one for its lifetime.
        # One retry on a broken connection: after Redis restarts, each pooled connection fails
        # once. Not on a timeout: the command may have run, and a script must not run twice.
        pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=MAX_CONNECTIONS, timeout=10, decode_responses=True,
            socket_timeout=5, socket_connect_timeout=5, retry=Retry(NoBackoff(), 1),
            retry_on_error=[RedisConnectionError])
        self.redis = aioredis.Redis(connection_pool=pool)
        self.worker = secrets.token_hex(4)
        self.listeners: dict[str, asyncio.Task] = {}
        self.outboxes: dict[str, asyncio.Queue] = {}
        self.publishers: dict[str, asyncio.Task] = {}
        # Per room, the publisher of a dropped mirror still sending what it had queued.
        self.draining: dict[str, asyncio.Task] = {}
        self.ttl = max(1, int(idle_seconds))
        self.attaching: dict[str, asyncio.Lock] = {}  # one attach per room at a time
        self.recounts: dict[str, asyncio.Task] = {}  # pending viewer counts, per room
        self.stale_counts: set[str] = set()  # rooms whose count changed since it was read
        self.lease = LEASE_SECONDS
        self.renewing: asyncio.Task | None = None  # renews the lease, recounts, retries leaves
        self.owed: dict[str, int] = {}  # per room, leaves not yet counted (Redis was away)
        self.scripts = {name: self.redis.register_script(text) for name, text in (
            ("create", CREATE), ("join", JOIN), ("leave", LEAVE), ("count", COUNT),
            ("renew", RENEW), ("presence", PRESENCE), ("ask", ASK), ("vote", VOTE),
            ("end_or_reveal", END_OR_REVEAL))}
        self.notice = f"{self.worker}|0|" + encode({"type": "_viewers"})
        self.vote_notice = f"{self.worker}|0|" + encode({"type": "_votes"})
        self.tallies: dict[str, asyncio.Task] = {}  # pending counts of votes, per room
        self.stale_votes: set[str] = set()  # rooms with votes since their count was read

    async def _call(self, coro: Any) -> Any:
        try:
            return await coro
        except (RedisError, OSError) as exc:
            log.warning("redis unavailable: %s", exc)
            raise RoomError(GONE, "rooms_unavailable") from None

    # -- creating and finding rooms ------------------------------------------------------------
    async def create(self) -> tuple[str, str]:
        await self.expire()
        token = new_token()
        while True:  # a code already taken (rare): another one
            code = new_code(())
            made = await self._call(self.scripts["create"](
                keys=[ROOMS, room_keys(code)["room"]],
                args=[self.max_rooms, token_hash(token).hex(), self.ttl, code, time.time()]))
            if made == -1:
                raise self._too_many()
            if made == 1:
                break
        log.info("room %s created", code)
        return code, token

    async def _stored_hash(self, code: str) -> str:
        stored = await self._call(self.redis.hget(room_keys(code)["room"], "token"))
        if stored is None:
            raise self._unknown(code)
        return stored

    async def present(self, code: str, token: str) -> Room:
        code = normalise_code(code)
        stored = await self._stored_hash(code)
        if not token_matches(bytes.fromhex(stored), token):
            raise self._wrong_token()
        room = await self._attach(code, stored)
        room.presenters += 1
        if not room.sinks:
            room.sinks.append(self._outbox(code))
        room.remote_viewers = await self._remote_viewers(code)
        if room.question is not None:  # e.g. after a restart: the votes are in Redis
            self._count_votes(room)
        room.touch()
        self._renew_lease()
        self._stop_leaving(code)
        with contextlib.suppress(RoomError):  # only the viewers' news: presenting goes on
            await self._presence(code, "live")
        return room

    def unpresent(self, room: Room) -> None:
        room.presenters -= 1
        if room.presenters == 0 and self.rooms.get(room.code) is room:
            self._stop_leaving(room.code)
            self.leaving[room.code] = asyncio.create_task(self._away(room.code))
        self._maybe_detach(room)

    async def _away(self, code: str) -> None:
        """Every worker's viewers hear the presenter is away, then (unless it is back) left."""
        try:
            mark = secrets.token_hex(4)
            await self._presence(code, "away", mark)
            await asyncio.sleep(self.grace)
            await self._presence(code, "left", expected=mark)
        except RoomError:
            pass
        finally:
            if self.leaving.get(code) is asyncio.current_task():
                del self.leaving[code]

    async def _presence(self, code: str, status: str, mark: str | None = None,
                        expected: str = "") -> None:
        """Record the presenter's news in the room and send it to every worker's mirror."""
        keys = room_keys(code)
        news = f"{self.worker}|0|" + encode({"type": "presenter", "status": status})
        await self._call(self.scripts["presence"](
            keys=[keys["room"], keys["channel"]],
            args=[status, mark or secrets.token_hex(4), expected, news]))

    async def exists(self, code: str) -> bool:
        try:
            return bool(await self.redis.exists(room_keys(normalise_code(code))["room"]))
        except (RedisError, OSError):
            return True  # the viewer's socket will say what is wrong

    async def join(self, code: str, viewer: Viewer) -> Room:
        code = normalise_code(code)
        keys = room_keys(code)
        self._renew_lease()
        # Check the cap and count the viewer in one step: a class joining at once on several
        # workers cannot all pass the check before any is counted.
        admitted, stored = await self._call(self.scripts["join"](
            keys=[keys["room"], keys["viewers"], WORKERS, keys["channel"]],
            args=[self.worker, self.max_viewers, self.ttl, int(self.lease * 1000), self.notice]))
        if not stored:
            raise self._unknown(code)
        if not admitted:
            raise self._full(code)
        try:
            room = await self._attach(code, stored)
        except BaseException:
            self.owed[code] = self.owed.get(code, 0) + 1  # uncounted by the lease's renewal
            raise
        room.join(viewer)
        return room

    async def leave(self, room: Room, viewer: Viewer) -> None:
        """Called once for each viewer `join` let in, whether or not the room still has it."""
        room.leave(viewer)
        self._maybe_detach(room)
        await self._uncount(room.code)

    # -- a class vote ----------------------------------------------------------------------------
    async def ask(self, room: Room, prompt: str, choices: list[str]) -> str:
        """Open a question in Redis (emptying the votes) and on every worker's mirror."""
        qid = secrets.token_hex(4)
        question = {"type": "question", "id": qid, "prompt": prompt, "choices": choices}
        text = encode(question)
        keys = room_keys(room.code)
        made = await self._call(self.scripts["ask"](
            keys=[keys["room"], keys["votes"], keys["channel"]],
            args=[qid, text, len(choices), f"{self.worker}|0|{text}"]))
        if not made:
            raise self._unknown(room.code)
        room.ask(qid, prompt, choices)  # here at once; the other workers hear it on the channel
        return qid

    async def vote(self, room: Room, viewer: Viewer, qid: str, choice: int) -> None:
        """Record the vote in Redis (checked there against the open question, in one step)."""
        keys = room_keys(room.code)
        answer = await self._call(self.scripts["vote"](
            keys=[keys["room"], keys["votes"], keys["channel"]],
            args=[qid, choice, viewer.voter, self.max_voters, self.ttl, self.vote_notice]))
        if answer[0] == 0:
            check_vote(None, qid, choice)
        if answer[0] == -1:
            check_vote({"id": qid, "choices": [None] * int(answer[1])}, qid, choice)
        if answer[0] == -2:
            raise too_many_voters(self.max_voters)

    async def _end_or_reveal(self, room: Room, what: str, message: dict[str, Any]) -> None:
        keys = room_keys(room.code)
        text = encode(message)
        await self._call(self.scripts["end_or_reveal"](
            keys=[keys["room"], keys["votes"], keys["channel"]],
            args=[message["id"], what, f"{self.worker}|0|{text}"]))

    async def reveal(self, room: Room) -> None:
        qid = self._open_question(room)
        await self._end_or_reveal(room, "reveal", {"type": "_reveal", "id": qid})
        self._revealed(room, qid)

    def _revealed(self, room: Room, qid: str) -> None:
        if room.question is not None and room.question["id"] == qid:
            room.revealed = True
            self._count_votes(room)  # the viewers here get the tally once counted

    async def close_question(self, room: Room) -> None:
        qid = self._open_question(room)
        await self._end_or_reveal(room, "close", {"type": "question_closed", "id": qid})
        room.close_question(qid)

    def _count_votes(self, room: Room) -> None:
        """The room's votes changed somewhere: count them again soon (one count per burst)."""
        self.stale_votes.add(room.code)
        if room.code not in self.tallies:
            self.tallies[room.code] = asyncio.create_task(self._tally(room))

    async def _tally(self, room: Room) -> None:
        """Count the open question's votes in Redis, at most every VOTE_EVERY seconds."""
        keys = room_keys(room.code)
        try:
            while room.code in self.stale_votes:
                await asyncio.sleep(VOTE_EVERY)
                self.stale_votes.discard(room.code)
                question = room.question
                if question is None:
                    continue
                async with self.redis.pipeline(transaction=True) as pipe:
                    pipe.hget(keys["room"], "qid")
                    pipe.hvals(keys["votes"])
                    qid, choices = await self._call(pipe.execute())
                if qid == question["id"]:  # the hash holds this question's votes
                    room.set_tally(tally(question, choices))
        except RoomError:
            pass
        finally:
            if self.tallies.get(room.code) is asyncio.current_task():
                del self.tallies[room.code]

    def _vote_news(self, room: Room, worker: str, message: dict[str, Any]) -> None:
        """A class vote's news on the channel, applied to this worker's mirror."""
        kind = message.get("type")
        if kind == "_votes":
            if room.presenters > 0 or room.revealed:
                self._count_votes(room)
        elif worker == self.worker:
            return  # our own presenter's: applied here already, in order
        elif kind == "question":
            room.ask(message["id"], message["prompt"], message["choices"])
        elif kind == "_reveal":
            self._revealed(room, message["id"])
        elif kind == "question_closed":
            room.close_question(message["id"])

    async def _uncount(self, code: str, count: int = 1) -> None:
        """Take viewers off this worker's count of a room (later, if Redis is away now)."""
        keys = room_keys(code)
        try:
            await self.scripts["leave"](keys=[keys["viewers"], keys["channel"]],
                                        args=[self.worker, count, self.ttl, self.notice])
        except (RedisError, OSError) as exc:
            log.warning("room %s: counting a leave failed (retried later): %s", code, exc)
            self.owed[code] = self.owed.get(code, 0) + count

    async def _remote_viewers(self, code: str) -> int:
        """The room's viewers on the other (living) workers."""
        keys = room_keys(code)
        total, own = await self._call(self.scripts["count"](
            keys=[keys["viewers"], WORKERS], args=[self.worker]))
        return max(0, int(total) - int(own))

    def _renew_lease(self) -> None:
        """Start renewing this worker's lease (and recounting its presenters' rooms)."""
        if self.renewing is None or self.renewing.done():
            self.renewing = asyncio.create_task(self._renew())

    async def _renew(self) -> None:
        """While this worker lives: renew its lease, retry the leaves Redis missed, and recount
        the rooms presented here (a worker that died says nothing when its lease runs out)."""
        while True:
            try:
                await self.scripts["renew"](keys=[WORKERS],
                                            args=[self.worker, int(self.lease * 1000)])
                for code, count in list(self.owed.items()):
                    del self.owed[code]
                    await self._uncount(code, count)
            except (RedisError, OSError) as exc:
                log.warning("redis unavailable while renewing this worker's lease: %s", exc)
            for room in list(self.rooms.values()):
                if room.presenters > 0:
                    self._stale(room)
            await asyncio.sleep(self.lease / 4)

    async def end(self, code: str, reason: str = "the presenter ended the presentation") -> None:
        self._stop_draining(code)  # else its next publish would write the deleted keys back
        self._stop_leaving(code)
        self.parked.pop(code, None)
        keys = room_keys(code)
        closing = encode({"type": "_closed", "reason": reason})
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.publish(keys["channel"], f"{self.worker}|0|{closing}")
            pipe.delete(*[k for name, k in keys.items() if name != "channel"])
            pipe.zrem(ROOMS, code)
            with contextlib.suppress(RoomError):
                await self._call(pipe.execute())
        self._drop(code, reason, "room_ended")
        log.info("room %s ended: %s", code, reason)

    async def expire(self) -> None:
        """Forget rooms whose keys expired in Redis (idle for longer than the timeout); keep
        the rooms presented here alive, as an in-process room is while presented."""
        try:
            codes = await self.redis.zrangebyscore(ROOMS, 0, time.time() - self.ttl)
            for code in codes:
                if not await self.redis.exists(room_keys(code)["room"]):
                    await self.redis.zrem(ROOMS, code)
            for code in list(self.parked):  # a presenter's race, kept while its room lives
                if not await self.redis.exists(room_keys(code)["room"]):
                    self.parked.pop(code, None)
            # Each worker checks its own mirrors: the worker that removed a code above is only
            # one of those whose viewers watch that room.
            for code, room in list(self.rooms.items()):
                if room.presenters > 0:
                    await keep_alive(self.redis, code, self.ttl)
                elif not await self.redis.exists(room_keys(code)["room"]):
                    self._drop(code, "idle for too long", "room_expired")
        except (RedisError, OSError) as exc:
            log.warning("redis unavailable while expiring rooms: %s", exc)

    async def close(self) -> None:
        for task in [*self.listeners.values(), *self.publishers.values(),
                     *self.draining.values(), *self.recounts.values(), *self.leaving.values(),
                     *self.tallies.values(), self.renewing]:
            if task is not None:
                task.cancel()
        with contextlib.suppress(RedisError, OSError):
            # Without its lease this worker's counts no longer count; without them, neither.
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.hdel(WORKERS, self.worker)
                for code in {*self.rooms, *self.owed}:
                    pipe.hdel(room_keys(code)["viewers"], self.worker)
                await pipe.execute()
            await self.redis.aclose()

    # -- local mirrors ---------------------------------------------------------------------------
    async def _attach(self, code: str, stored_hash: str) -> Room:
        """This worker's mirror of the room: subscribe, load the history, then follow live."""
        room = self.rooms.get(code)
        if room is not None:
            return room
        lock = self.attaching.setdefault(code, asyncio.Lock())
        async with lock:  # a class joining at once: the first attaches, the others wait for it
            try:
                return await self._attach_once(code, stored_hash)
            finally:
                self.attaching.pop(code, None)

    async def _attach_once(self, code: str, stored_hash: str) -> Room:
        room = self.rooms.get(code)
        if room is not None:
            return room
        keys = room_keys(code)
        pubsub = self.redis.pubsub()
        await self._call(pubsub.subscribe(keys["channel"]))
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.lrange(keys["history"], 0, -1)
                pipe.hgetall(keys["details"])
                pipe.get(keys["state"])
                pipe.hget(keys["room"], "presence")
                pipe.hmget(keys["room"], "question", "revealed")
                pipe.get(keys["sweep"])
                history, details, state, presence, (question, revealed), sweep = (
                    await self._call(pipe.execute()))
        except RoomError:
            await pubsub.aclose()
            raise
        if code in self.rooms:  # another viewer attached it while we waited
            await pubsub.aclose()
            return self.rooms[code]
        room = Room(code=code, token_hash=bytes.fromhex(stored_hash), **self.room_limits)
        room.presence = presence or "waiting"
        last = 0
        for envelope in history:
            _, seq, text = envelope.split("|", 2)
            room.deliver(decode(text), text)
            last = int(seq)
        for text in details.values():
            room.deliver(decode(text), text)
        if state:
            room.deliver(decode(state), state)
        if sweep:  # the presenter's latest map, of the config the history started
            room.deliver(decode(sweep), sweep)
        if question:
            asked = decode(question)
            room.ask(asked["id"], asked["prompt"], asked["choices"])
            room.tally = None  # not all zero: unknown until counted (by a presenter, a reveal)
            if revealed == "1":
                self._revealed(room, asked["id"])
        self.rooms[code] = room
        self.listeners[code] = asyncio.create_task(self._listen(room, pubsub, last))
        return room

    async def _listen(self, room: Room, pubsub: Any, last: int) -> None:
        """Apply the room's live messages to this worker's mirror, each exactly once."""
        try:
            async for item in pubsub.listen():
                if item.get("type") != "message":
                    continue
                worker, seq_text, text = item["data"].split("|", 2)
                message = decode(text)
                kind = message.get("type")
                if kind == "_viewers":
                    self._stale(room)
                    continue
                if kind == "presenter":  # from any worker, this one's too: news for viewers
                    room.set_presence(message.get("status", "live"))
                    continue
                if kind in ("_votes", "question", "_reveal", "question_closed"):
                    self._vote_news(room, worker, message)
                    continue
                if kind == "_closed":
                    self._drop(room.code, message.get("reason", "the room ended"), "room_ended")
                    return
                seq = int(seq_text)
                if seq and seq <= last:
                    continue  # already in the history this mirror loaded
                last = max(last, seq)
                if worker != self.worker:  # our own presenter already delivered it here
                    room.deliver(message, text)
        except asyncio.CancelledError:
            raise
        except (RedisError, OSError, RoomError) as exc:
            log.warning("room %s lost its Redis subscription: %s", room.code, exc)
            self._drop(room.code, GONE, "rooms_unavailable")
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    def _stale(self, room: Room) -> None:
        """The room's count changed somewhere: count it again soon."""
        self.stale_counts.add(room.code)
        if room.code not in self.recounts:  # a class joining: one count per burst
            self.recounts[room.code] = asyncio.create_task(self._recount(room))

    async def _recount(self, room: Room) -> None:
        """Count the room's viewers on every worker, a moment after a join or a leave."""
        try:
            while room.code in self.stale_counts:  # again if a join came during the count
                await asyncio.sleep(0.2)
                self.stale_counts.discard(room.code)
                remote = await self._remote_viewers(room.code)
                if remote != room.remote_viewers:
                    room.remote_viewers = remote
                    room._viewers_changed()
        except RoomError:
            pass
        finally:
            self.recounts.pop(room.code, None)

    def _outbox(self, code: str) -> Any:
        """The presenter's sink: queue messages for the room's publisher task."""
        queue: asyncio.Queue = asyncio.Queue()
        self.outboxes[code] = queue
        after = self.draining.get(code)  # presenting again: the old queue goes out first
        self.publishers[code] = asyncio.create_task(publish(
            self.redis, code, queue, self.worker, self.ttl,
            self.room_limits["max_history_bytes"], after))

        def sink(message: dict[str, Any], text: str) -> None:
            queue.put_nowait((message["type"], message.get("run"), text))

        return sink

    def _drained(self, code: str, task: asyncio.Task) -> None:
        if self.draining.get(code) is task:
            del self.draining[code]

    def _stop_draining(self, code: str) -> None:
        task = self.draining.pop(code, None)
        if task is not None:
            task.cancel()

    def _maybe_detach(self, room: Room) -> None:
        # `is`: a mirror dropped earlier must not drop the room's newer mirror
        if room.presenters <= 0 and not room.viewers and self.rooms.get(room.code) is room:
            self._drop(room.code, None)

    def _drop(self, code: str, reason: str | None, lost: str = "room_ended") -> None:
        """Forget the local mirror; close its viewers with `reason` (if any) and tell its
        presenters why (`lost`: room_ended, room_expired or rooms_unavailable)."""
        room = self.rooms.pop(code, None)
        if room is not None and reason is None:
            room.flush()  # the frames it was merging go out with the rest of its queue
        listener = self.listeners.pop(code, None)
        if listener is not None and listener is not asyncio.current_task():
            listener.cancel()
        counting = self.tallies.pop(code, None)
        if counting is not None and counting is not asyncio.current_task():
            counting.cancel()
        publisher, outbox = self.publishers.pop(code, None), self.outboxes.pop(code, None)
        if publisher is not None and outbox is not None and reason is None:
            # Everyone here left (the presenter's last viewers here may leave on its `done`
            # before the publisher, a Redis round trip or two behind, has sent it on): the
            # viewers on other workers still need what is queued. Finish it, then stop.
            outbox.put_nowait(None)
            self.draining[code] = publisher
            publisher.add_done_callback(lambda task: self._drained(code, task))
        else:
            if publisher is not None:
                publisher.cancel()
            if reason is not None:  # the room ended or Redis went away: nothing more to send
                self._stop_draining(code)
        if room is not None:
            room.sinks.clear()
            if reason:
                room.close(reason, lost)
