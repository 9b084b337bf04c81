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

If Redis goes away, viewers get a close frame saying so and the presenter a `room_lost`
message; the presenter's own session keeps running (publishing never blocks it).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import time
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from app.rooms.room import Room, RoomError, RoomHub, Viewer, new_code, normalise_code

log = logging.getLogger("descent.rooms")

PREFIX = "dp:room:"
ROOMS = "dp:rooms"  # sorted set: code -> last activity (unix time)
WORKERS = "dp:workers"  # hash: worker -> the end of its lease (Redis time, ms)
LEASE_SECONDS = 60.0  # a worker's viewer counts stop counting this long after it died
MAX_CONNECTIONS = 64  # per worker
MAX_HISTORY = 50_000  # messages kept for late joiners (frames are merged ~15 per second) ...
# ... and their bytes (the room's max_history_bytes): past either, the older half of the
# frames is thinned to every other one, in Redis, as a room thins its points. The first frame
# kept is marked "thinned" for the mirrors that load it. Bytes are counted as pushed, in a key.
APPEND_HISTORY = """
local history, counter = KEYS[1], KEYS[2]
redis.call('RPUSH', history, ARGV[1])
local total = redis.call('INCRBY', counter, string.len(ARGV[1]))
if total <= tonumber(ARGV[2]) and redis.call('LLEN', history) <= tonumber(ARGV[3]) then
  return total
end
local all = redis.call('LRANGE', history, 0, -1)
local frames = {}
for i = 1, #all do
  if string.find(all[i], '^[^|]*|[^|]*|{"type":"frame"') then frames[#frames + 1] = i end
end
local half = math.floor(#frames / 2)
if half < 2 then return total end
local drop = {}
for k = 2, half, 2 do drop[frames[k]] = true end
local first = all[frames[1]]
local at = select(2, string.find(first, '^[^|]*|[^|]*|{"type":"frame"'))
local mark = ',"thinned":true'
if string.sub(first, at + 1, at + string.len(mark)) ~= mark then
  all[frames[1]] = string.sub(first, 1, at) .. mark .. string.sub(first, at + 1)
end
local kept = {}
total = 0
for i = 1, #all do
  if not drop[i] then
    kept[#kept + 1] = all[i]
    total = total + string.len(all[i])
  end
end
redis.call('DEL', history)
for i = 1, #kept, 1000 do
  redis.call('RPUSH', history, unpack(kept, i, math.min(i + 999, #kept)))
end
redis.call('SET', counter, total)
return total
"""
GONE = "the room service (Redis) is unavailable; reconnecting will not help until it is back"

# Redis time in ms, and the sum of a room's viewer counts over the workers whose lease holds.
_LIVE_TOTAL = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local function live_total(viewers, workers, mine)
  local total, own = 0, 0
  local counts = redis.call('HGETALL', viewers)
  for i = 1, #counts, 2 do
    local lease = tonumber(redis.call('HGET', workers, counts[i]) or '0')
    if counts[i] == mine then own = tonumber(counts[i + 1]) end
    if counts[i] == mine or lease >= now then total = total + tonumber(counts[i + 1]) end
  end
  return total, own
end
"""
# KEYS: rooms, room; ARGV: max rooms, token hash, ttl, code, now (unix time)
CREATE = """
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return -1 end
if redis.call('HSETNX', KEYS[2], 'token', ARGV[2]) == 0 then return 0 end
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[5], ARGV[4])
return 1
"""
# KEYS: room, viewers, workers, channel; ARGV: worker, max viewers, ttl, lease ms, notice.
# Returns {admitted (1) or not (0), token hash or false (no such room)}.
JOIN = _LIVE_TOTAL + """
local token = redis.call('HGET', KEYS[1], 'token')
if not token then return {0, false} end
redis.call('HSET', KEYS[3], ARGV[1], now + tonumber(ARGV[4]))
if live_total(KEYS[2], KEYS[3], ARGV[1]) >= tonumber(ARGV[2]) then return {0, token} end
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('PUBLISH', KEYS[4], ARGV[5])
return {1, token}
"""
# KEYS: viewers, channel; ARGV: worker, count, ttl, notice. Nothing once the count is gone
# (the room ended, or this worker closed): never a negative count.
LEAVE = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[1], -tonumber(ARGV[2]))
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('PUBLISH', KEYS[2], ARGV[4])
return 1
"""
# KEYS: viewers, workers; ARGV: worker. Returns {every live worker's viewers, this worker's}.
COUNT = _LIVE_TOTAL + """
return {live_total(KEYS[1], KEYS[2], ARGV[1])}
"""
# KEYS: workers; ARGV: worker, lease ms. Renews this worker's lease and forgets leases that
# ran out an hour ago (their workers' counts expire with their rooms).
RENEW = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('HSET', KEYS[1], ARGV[1], now + tonumber(ARGV[2]))
local leases = redis.call('HGETALL', KEYS[1])
for i = 1, #leases, 2 do
  if tonumber(leases[i + 1]) < now - 3600000 then redis.call('HDEL', KEYS[1], leases[i]) end
end
return 1
"""


def _keys(code: str) -> dict[str, str]:
    base = PREFIX + code
    return {"room": base, "history": base + ":history", "seq": base + ":seq",
            "details": base + ":details", "state": base + ":state",
            "viewers": base + ":viewers", "channel": base + ":live",
            "history_bytes": base + ":history_bytes"}


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


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
            ("renew", RENEW))}
        self.notice = f"{self.worker}|0|" + json.dumps({"type": "_viewers"})

    async def _call(self, coro: Any) -> Any:
        try:
            return await coro
        except (RedisError, OSError) as exc:
            log.warning("redis unavailable: %s", exc)
            raise RoomError(GONE, "rooms_unavailable") from None

    # -- creating and finding rooms ------------------------------------------------------------
    async def create(self) -> tuple[str, str]:
        await self.expire()
        token = secrets.token_urlsafe(24)
        while True:  # a code already taken (rare): another one
            code = new_code(())
            made = await self._call(self.scripts["create"](
                keys=[ROOMS, _keys(code)["room"]],
                args=[self.max_rooms, _token_hash(token), self.ttl, code, time.time()]))
            if made == -1:
                raise self._too_many()
            if made == 1:
                break
        log.info("room %s created", code)
        return code, token

    async def _stored_hash(self, code: str) -> str:
        stored = await self._call(self.redis.hget(_keys(code)["room"], "token"))
        if stored is None:
            raise RoomError(f"no room {code!r}: it ended or expired", "unknown_room")
        return stored

    async def present(self, code: str, token: str) -> Room:
        code = normalise_code(code)
        stored = await self._stored_hash(code)
        if not hmac.compare_digest(stored, _token_hash(token)):
            raise RoomError("wrong token for this room", "bad_token")
        room = await self._attach(code, stored)
        room.presenters += 1
        if not room.sinks:
            room.sinks.append(self._outbox(code))
        room.remote_viewers = await self._remote_viewers(code)
        room.touch()
        self._renew_lease()
        return room

    def unpresent(self, room: Room) -> None:
        room.presenters -= 1
        self._maybe_detach(room)

    async def join(self, code: str, viewer: Viewer) -> Room:
        code = normalise_code(code)
        keys = _keys(code)
        self._renew_lease()
        # Check the cap and count the viewer in one step: a class joining at once on several
        # workers cannot all pass the check before any is counted.
        admitted, stored = await self._call(self.scripts["join"](
            keys=[keys["room"], keys["viewers"], WORKERS, keys["channel"]],
            args=[self.worker, self.max_viewers, self.ttl, int(self.lease * 1000), self.notice]))
        if not stored:
            raise RoomError(f"no room {code!r}: it ended or expired", "unknown_room")
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

    async def _uncount(self, code: str, count: int = 1) -> None:
        """Take viewers off this worker's count of a room (later, if Redis is away now)."""
        keys = _keys(code)
        try:
            await self.scripts["leave"](keys=[keys["viewers"], keys["channel"]],
                                        args=[self.worker, count, self.ttl, self.notice])
        except (RedisError, OSError) as exc:
            log.warning("room %s: counting a leave failed (retried later): %s", code, exc)
            self.owed[code] = self.owed.get(code, 0) + count

    async def _remote_viewers(self, code: str) -> int:
        """The room's viewers on the other (living) workers."""
        keys = _keys(code)
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
        keys = _keys(code)
        closing = json.dumps({"type": "_closed", "reason": reason})
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
                if not await self.redis.exists(_keys(code)["room"]):
                    await self.redis.zrem(ROOMS, code)
            # Each worker checks its own mirrors: the worker that removed a code above is only
            # one of those whose viewers watch that room.
            for code, room in list(self.rooms.items()):
                if room.presenters > 0:
                    await self._keep_alive(code)
                elif not await self.redis.exists(_keys(code)["room"]):
                    self._drop(code, "idle for too long", "room_expired")
        except (RedisError, OSError) as exc:
            log.warning("redis unavailable while expiring rooms: %s", exc)

    async def _keep_alive(self, code: str) -> None:
        keys = _keys(code)
        async with self.redis.pipeline(transaction=True) as pipe:
            for key in ("room", "history", "seq", "details", "state", "viewers"):
                pipe.expire(keys[key], self.ttl)
            pipe.zadd(ROOMS, {code: time.time()}, xx=True)
            await pipe.execute()

    async def close(self) -> None:
        for task in [*self.listeners.values(), *self.publishers.values(),
                     *self.draining.values(), *self.recounts.values(), self.renewing]:
            if task is not None:
                task.cancel()
        with contextlib.suppress(RedisError, OSError):
            # Without its lease this worker's counts no longer count; without them, neither.
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.hdel(WORKERS, self.worker)
                for code in {*self.rooms, *self.owed}:
                    pipe.hdel(_keys(code)["viewers"], self.worker)
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
        keys = _keys(code)
        pubsub = self.redis.pubsub()
        await self._call(pubsub.subscribe(keys["channel"]))
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.lrange(keys["history"], 0, -1)
                pipe.hgetall(keys["details"])
                pipe.get(keys["state"])
                history, details, state = await self._call(pipe.execute())
        except RoomError:
            await pubsub.aclose()
            raise
        if code in self.rooms:  # another viewer attached it while we waited
            await pubsub.aclose()
            return self.rooms[code]
        room = Room(code=code, token_hash=bytes.fromhex(stored_hash), **self.room_limits)
        last = 0
        for envelope in history:
            _, seq, text = envelope.split("|", 2)
            room.deliver(json.loads(text), text)
            last = int(seq)
        for text in details.values():
            room.deliver(json.loads(text), text)
        if state:
            room.deliver(json.loads(state), state)
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
                message = json.loads(text)
                kind = message.get("type")
                if kind == "_viewers":
                    self._stale(room)
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
        self.publishers[code] = asyncio.create_task(self._publish(code, queue, after))

        def sink(message: dict[str, Any], text: str) -> None:
            queue.put_nowait((message["type"], message.get("run"), text))

        return sink

    async def _publish(self, code: str, queue: asyncio.Queue,
                       after: asyncio.Task | None = None) -> None:
        """Give each message a sequence number, record it in Redis and publish it, in order
        (after the room's previous publisher, `after`, has finished)."""
        keys = _keys(code)
        append = self.redis.register_script(APPEND_HISTORY)
        bounds = (self.room_limits["max_history_bytes"], MAX_HISTORY)
        if after is not None:
            try:
                await asyncio.wait({after})
            except asyncio.CancelledError:
                after.cancel()  # this room's publishing stops: the earlier one's too
                raise
        while True:
            item = await queue.get()
            if item is None:  # the room was dropped here: all it queued has been published
                return
            kind, run, text = item
            try:
                seq = await self.redis.incr(keys["seq"])
                envelope = f"{self.worker}|{seq}|{text}"
                async with self.redis.pipeline(transaction=True) as pipe:
                    if kind == "started":
                        pipe.delete(keys["history"], keys["history_bytes"], keys["details"],
                                    keys["state"])
                    if kind == "detail":
                        pipe.hset(keys["details"], run or "", text)
                    elif kind == "state":
                        pipe.set(keys["state"], text)
                    else:
                        await append(keys=[keys["history"], keys["history_bytes"]],
                                     args=[envelope, *bounds], client=pipe)
                    for key in ("room", "history", "history_bytes", "seq", "details", "state"):
                        pipe.expire(keys[key], self.ttl)
                    pipe.zadd(ROOMS, {code: time.time()}, xx=True)  # never brings one back
                    pipe.publish(keys["channel"], envelope)
                    await pipe.execute()
            except (RedisError, OSError) as exc:
                # The presenter's session goes on; only the other workers' viewers lose the room.
                log.warning("room %s: publishing to Redis failed: %s", code, exc)

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
        listener = self.listeners.pop(code, None)
        if listener is not None and listener is not asyncio.current_task():
            listener.cancel()
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
