"""Fan-out of committed domain events to the live views of every app process.

Events are published after the transaction that caused them commits, and every subscriber (one per
SSE connection) receives them in order. A browser that reconnects with ``Last-Event-ID`` to any
process gets the events it missed, as long as they are still retained (a few minutes); when they are
not, or when a subscriber cannot keep up, it is told so with :class:`SubscriberLagged` instead of
silently losing events, so the page can reload its data.

Event ids have the form ``"0001732806000000-000001"`` (milliseconds, sequence) in both
implementations, so they compare correctly as plain strings.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta
from types import TracebackType
from typing import Any, Literal, Self

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

logger = logging.getLogger(__name__)

LagReason = Literal["overflow", "gap", "reset"]

_REPLAY_PAGE = 500


def format_event_id(ms: int, seq: int) -> str:
    return f"{ms:013d}-{seq:06d}"


def parse_event_id(event_id: str) -> tuple[int, int]:
    """``(ms, seq)`` of an id in our form or in Redis' unpadded form; ValueError when malformed."""
    ms_text, sep, seq_text = event_id.strip().partition("-")
    if not sep or not ms_text.isdigit() or not seq_text.isdigit():
        raise ValueError(f"not an event id: {event_id!r}")
    return int(ms_text), int(seq_text)


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    type: str
    data: dict[str, Any]
    # Serialised once per event, not once per stream: a thousand open rosters then share one string.
    data_json: str = field(default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.data_json:
            object.__setattr__(self, "data_json", json.dumps(self.data, ensure_ascii=False, separators=(",", ":")))

    def to_json(self) -> str:
        return json.dumps(
            {"id": self.id, "type": self.type, "data": self.data}, ensure_ascii=False, separators=(",", ":")
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Event:
        raw = json.loads(text)
        return cls(id=str(raw["id"]), type=str(raw["type"]), data=dict(raw["data"]))


class SubscriberLagged(Exception):
    """The subscriber can no longer be given every event; its client must reload its data.

    ``reason`` is ``"overflow"`` (it fell more than ``max_queue`` events behind), ``"gap"`` (events
    after its ``Last-Event-ID`` are no longer retained) or ``"reset"`` (the id is unknown to the bus,
    e.g. Redis lost its data).
    """

    def __init__(self, reason: LagReason, *, last_event_id: str | None = None) -> None:
        self.reason: LagReason = reason
        self.last_event_id = last_event_id
        super().__init__(f"subscriber lagged ({reason}) after event {last_event_id or '-'}")


class EventBusUnavailable(Exception):
    """The bus' backend cannot be reached; publishing or replaying failed and may be retried."""


class Subscription:
    """One consumer of the bus: ``async with bus.subscribe(...) as sub: async for event in sub``.

    Yields the retained events after ``last_event_id`` first, then live ones, each exactly once.
    Live events are buffered from the moment the context is entered, before the replay is read, and
    anything at or before the last yielded id is dropped, so the seam has neither gaps nor duplicates.
    """

    def __init__(self, bus: EventBus, *, last_event_id: str | None, max_queue: int) -> None:
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        self._bus = bus
        self._max_queue = max_queue
        self._live: deque[Event] = deque()
        self._wakeup = asyncio.Event()
        self._replay: deque[Event] = deque()
        self._replay_cursor = last_event_id
        self._replay_done = last_event_id is None
        self._last_key: tuple[int, int] | None = None
        self._lagged: SubscriberLagged | None = None
        self._closed = False
        self._entered = False
        self.last_event_id = last_event_id
        if last_event_id is not None:
            try:
                self._last_key = parse_event_id(last_event_id)
            except ValueError:
                # A header we never issued: we cannot know what the client missed.
                self._lagged = SubscriberLagged("reset", last_event_id=last_event_id)
                self._replay_done = True

    async def __aenter__(self) -> Self:
        if self._entered:
            raise RuntimeError("a subscription can be entered only once")
        self._entered = True
        if not self._closed:
            self._bus._attach(self)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Event:
        if not self._entered:
            raise RuntimeError("use 'async with bus.subscribe() as sub' before iterating")
        while True:
            if self._lagged is not None:
                raise self._lagged
            if self._closed:
                raise StopAsyncIteration
            if self._replay:
                return self._emit(self._replay.popleft())
            if not self._replay_done:
                await self._fetch_replay_page()
                continue
            while self._live:
                event = self._live.popleft()
                if self._last_key is None or parse_event_id(event.id) > self._last_key:
                    return self._emit(event)
            self._wakeup.clear()
            await self._wakeup.wait()

    def close(self) -> None:
        """Stop receiving; a pending ``__anext__`` ends the iteration."""
        if not self._closed:
            self._closed = True
            self._bus._detach(self)
            self._wakeup.set()

    async def _fetch_replay_page(self) -> None:
        assert self._replay_cursor is not None
        try:
            page = await self._bus._events_after(self._replay_cursor, limit=_REPLAY_PAGE)
        except SubscriberLagged as lagged:
            self._lag(lagged)
            return
        if page:
            self._replay.extend(page)
            self._replay_cursor = page[-1].id
        if len(page) < _REPLAY_PAGE:
            # Everything published from now on reaches the live buffer, which was attached before
            # this read began.
            self._replay_done = True

    def _emit(self, event: Event) -> Event:
        self._last_key = parse_event_id(event.id)
        self.last_event_id = event.id
        return event

    def _deliver(self, event: Event) -> None:
        if self._closed or self._lagged is not None:
            return
        if len(self._live) >= self._max_queue:
            self._lag(SubscriberLagged("overflow", last_event_id=self.last_event_id))
            return
        self._live.append(event)
        self._wakeup.set()

    def _lag(self, lagged: SubscriberLagged) -> None:
        if lagged.last_event_id is None:
            lagged.last_event_id = self.last_event_id
        self._lagged = lagged
        self._live.clear()
        self._replay.clear()
        self._bus._detach(self)
        self._wakeup.set()


class EventBus(ABC):
    def __init__(self) -> None:
        self._subscribers: set[Subscription] = set()

    async def start(self) -> None:  # noqa: B027 - optional hook
        pass

    async def stop(self) -> None:
        """End every subscription, so open SSE responses finish and shutdown is not held up."""
        for subscription in list(self._subscribers):
            subscription.close()

    @abstractmethod
    async def publish(self, type: str, data: dict[str, Any]) -> Event:
        """Record and fan out an event; call it only after the causing transaction committed."""

    def subscribe(self, *, last_event_id: str | None = None, max_queue: int = 1000) -> Subscription:
        return Subscription(self, last_event_id=last_event_id, max_queue=max_queue)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    @abstractmethod
    async def _events_after(self, event_id: str, *, limit: int) -> list[Event]:
        """Retained events strictly after ``event_id``, oldest first.

        Raises :class:`SubscriberLagged` when some event after ``event_id`` is no longer retained.
        """

    def _attach(self, subscription: Subscription) -> None:
        self._subscribers.add(subscription)

    def _detach(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    def _fan_out(self, event: Event) -> None:
        for subscription in list(self._subscribers):
            subscription._deliver(event)


class InProcessEventBus(EventBus):
    """For a single process (development, tests, small installs)."""

    def __init__(self, retention: timedelta = timedelta(minutes=10), max_retained: int = 10_000) -> None:
        super().__init__()
        self._retention_ms = int(retention.total_seconds() * 1000)
        self._max_retained = max_retained
        self._retained: deque[tuple[tuple[int, int], Event]] = deque()
        self._last_key = (self._now_ms(), 0)
        # Ids issued before this bus existed (a previous process) cannot be replayed; treating them as
        # trimmed makes such clients reload instead of missing what happened around the restart.
        self._trimmed_up_to = self._last_key

    async def publish(self, type: str, data: dict[str, Any]) -> Event:
        # A JSON round trip rejects what Redis could not carry either, so development with this bus
        # fails where production would, and gives subscribers a copy the publisher cannot mutate.
        copied = json.loads(json.dumps(data, ensure_ascii=False))
        ms = max(self._now_ms(), self._last_key[0])
        seq = self._last_key[1] + 1 if ms == self._last_key[0] else 0
        if seq > 999_999:
            ms, seq = ms + 1, 0
        self._last_key = (ms, seq)
        event = Event(id=format_event_id(ms, seq), type=type, data=copied)
        self._retained.append((self._last_key, event))
        self._trim(ms)
        self._fan_out(event)
        return event

    async def _events_after(self, event_id: str, *, limit: int) -> list[Event]:
        key = parse_event_id(event_id)
        if key > self._last_key:
            raise SubscriberLagged("reset", last_event_id=event_id)
        if key < self._trimmed_up_to:
            raise SubscriberLagged("gap", last_event_id=event_id)
        newer: list[Event] = []
        for retained_key, event in reversed(self._retained):
            if retained_key <= key:
                break
            newer.append(event)
        newer.reverse()
        return newer[:limit]

    def _trim(self, now_ms: int) -> None:
        oldest_allowed = now_ms - self._retention_ms
        while self._retained and (len(self._retained) > self._max_retained or self._retained[0][0][0] < oldest_allowed):
            self._trimmed_up_to, _ = self._retained.popleft()

    @staticmethod
    def _now_ms() -> int:
        return time.time_ns() // 1_000_000


class RedisEventBus(EventBus):
    """Shares events between processes through one Redis Stream.

    Each process runs a single reader task doing a blocking ``XREAD`` and hands events to its local
    subscribers, so a thousand SSE clients cost a thousand small in-memory queues, not a thousand
    Redis connections.
    """

    def __init__(
        self,
        url: str,
        stream: str = "homewatch:events",
        retention: timedelta = timedelta(minutes=10),
        *,
        max_retained: int = 100_000,
        block_ms: int = 5_000,
    ) -> None:
        super().__init__()
        self._url = url
        self._stream = stream
        self._retention_ms = int(retention.total_seconds() * 1000)
        self._max_retained = max_retained
        self._block_ms = block_ms
        self._client: aioredis.Redis | None = None
        self._reader_client: aioredis.Redis | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._cursor: str | None = None
        self._reader_ready = asyncio.Event()
        self._stopping = False

    async def start(self, *, startup_wait_seconds: float = 5.0) -> None:
        if self._reader_task is not None:
            return
        common: dict[str, Any] = {"decode_responses": True, "socket_connect_timeout": 5, "protocol": 2}
        # Named so that CLIENT LIST shows which connections belong to the event bus.
        self._client = aioredis.Redis.from_url(
            self._url, socket_timeout=10, client_name=f"homewatch-events[{self._stream}]", **common
        )
        # A blocked XREAD must not trip the socket timeout, yet a dead connection must not hang forever.
        self._reader_client = aioredis.Redis.from_url(
            self._url,
            socket_timeout=self._block_ms / 1000 + 10,
            client_name=f"homewatch-events-reader[{self._stream}]",
            **common,
        )
        self._stopping = False
        self._reader_task = asyncio.create_task(self._read_forever(), name=f"event-bus-reader:{self._stream}")
        try:
            # Until the reader knows where the stream ends, a new subscriber could miss live events.
            await self.wait_ready(startup_wait_seconds)
        except TimeoutError:
            logger.warning("Redis at %s not reachable yet; the event bus keeps trying", _redacted(self._url))

    async def stop(self) -> None:
        await super().stop()
        self._stopping = True
        if self._reader_task is not None:
            await self._stop_reader(self._reader_task)
            self._reader_task = None
        for client in (self._client, self._reader_client):
            if client is not None:
                await client.aclose()
        self._client = self._reader_client = None

    async def _stop_reader(self, task: asyncio.Task[None]) -> None:
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=1)
        if not done and self._reader_client is not None:
            # Seen in tests (redis-py 8.1, Python 3.11) after Redis dropped the reader's connection:
            # the cancellation of the blocked XREAD got lost and shutdown hung. Closing the socket
            # ends the read, and _stopping keeps the loop from starting another one.
            logger.warning("event bus reader ignored cancellation; closing its connection")
            await self._reader_client.connection_pool.disconnect()
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=self._block_ms / 1000 + 5)
        if not done:
            logger.error("event bus reader for %s did not stop", self._stream)

    async def wait_ready(self, timeout: float | None = None) -> None:
        """Wait until the reader knows its position in the stream (useful right after ``start``)."""
        await asyncio.wait_for(self._reader_ready.wait(), timeout)

    async def publish(self, type: str, data: dict[str, Any]) -> Event:
        client = self._require_client()
        fields: dict[Any, Any] = {"type": type, "data": json.dumps(data, ensure_ascii=False, separators=(",", ":"))}
        min_id = f"{max(0, time.time_ns() // 1_000_000 - self._retention_ms)}-0"
        try:
            # Approximate trimming drops whole radix-tree nodes only, which keeps XADD O(1).
            async with client.pipeline(transaction=False) as pipe:
                pipe.xadd(self._stream, fields, minid=min_id, approximate=True)
                pipe.xtrim(self._stream, maxlen=self._max_retained, approximate=True)
                redis_id, _ = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise EventBusUnavailable(f"could not publish {type!r}: {exc}") from exc
        return Event(id=_from_redis_id(redis_id), type=type, data=data)

    async def _events_after(self, event_id: str, *, limit: int) -> list[Event]:
        client = self._require_client()
        try:
            return await self._range_after(client, event_id, limit=limit)
        except (RedisError, OSError) as exc:
            raise EventBusUnavailable(f"could not replay events after {event_id}: {exc}") from exc

    async def _range_after(self, client: aioredis.Redis, event_id: str, *, limit: int) -> list[Event]:
        cursor = parse_event_id(event_id)
        redis_cursor = f"{cursor[0]}-{cursor[1]}"
        # Read the cursor entry itself along with the stream's state, atomically: if the entry is still
        # there, trimming (which only removes the oldest entries) cannot have removed anything after it.
        async with client.pipeline(transaction=True) as pipe:
            pipe.xrange(self._stream, min=redis_cursor, max="+", count=limit + 1)
            pipe.xinfo_stream(self._stream)
            entries, info = await pipe.execute(raise_on_error=False)
        if isinstance(entries, Exception):
            raise entries
        if isinstance(info, ResponseError):
            info = {}  # no such key: the stream was never written or has been deleted
        elif isinstance(info, Exception):
            raise info
        last_generated = parse_event_id(info.get("last-generated-id") or "0-0")
        if cursor > last_generated:
            raise SubscriberLagged("reset", last_event_id=event_id)
        keyed = [(parse_event_id(rid), rid, fields) for rid, fields in entries or []]
        if keyed and keyed[0][0] == cursor:
            keyed = keyed[1:]
        elif cursor < last_generated:
            first_entry = info.get("first-entry")
            first_key = parse_event_id(first_entry[0]) if first_entry else None
            trimmed = int(info.get("entries-added", 0)) > int(info.get("length", 0))
            if trimmed and (first_key is None or cursor < first_key):
                raise SubscriberLagged("gap", last_event_id=event_id)
        events = [event for _, rid, fields in keyed[:limit] if (event := self._decode(rid, fields))]
        return events

    async def _read_forever(self) -> None:
        assert self._client is not None and self._reader_client is not None
        delay = 0.0
        recovering = False
        while not self._stopping:
            try:
                if self._cursor is None:
                    self._cursor = await self._stream_tail()
                    self._reader_ready.set()
                elif recovering:
                    await self._catch_up()
                recovering = False
                delay = 0.0
                reply = await self._reader_client.xread(
                    {self._stream: self._cursor}, count=_REPLAY_PAGE, block=self._block_ms
                )
                for rid, fields in _stream_entries(reply, self._stream):
                    self._cursor = rid
                    if event := self._decode(rid, fields):
                        self._fan_out(event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the reader must outlive any Redis trouble
                recovering = True
                delay = min(30.0, max(0.5, delay * 2))
                wait = delay * random.uniform(0.5, 1.0)
                logger.warning("event bus reader for %s failed (%s); retrying in %.1fs", self._stream, exc, wait)
                await asyncio.sleep(wait)

    async def _stream_tail(self) -> str:
        assert self._client is not None
        try:
            info = await self._client.xinfo_stream(self._stream)
        except ResponseError:
            return "0-0"
        return str(info["last-generated-id"])

    async def _catch_up(self) -> None:
        """After an outage, deliver what was missed, or tell every subscriber that it cannot be."""
        assert self._client is not None and self._cursor is not None
        while True:
            try:
                missed = await self._range_after(self._client, self._cursor, limit=_REPLAY_PAGE)
            except SubscriberLagged as lagged:
                logger.warning("event bus lost events after %s (%s)", self._cursor, lagged.reason)
                for subscription in list(self._subscribers):
                    subscription._lag(SubscriberLagged(lagged.reason))
                self._cursor = await self._stream_tail()
                return
            for event in missed:
                self._cursor = _to_redis_id(event.id)
                self._fan_out(event)
            if len(missed) < _REPLAY_PAGE:
                return

    def _decode(self, redis_id: str, fields: dict[str, str]) -> Event | None:
        try:
            return Event(id=_from_redis_id(redis_id), type=fields["type"], data=json.loads(fields["data"]))
        except (KeyError, ValueError) as exc:
            logger.error("skipping malformed entry %s in %s: %s", redis_id, self._stream, exc)
            return None

    def _require_client(self) -> aioredis.Redis:
        if self._client is None:
            raise RuntimeError("RedisEventBus.start() has not been awaited")
        return self._client


def _redacted(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}***@{rest.rpartition('@')[2]}" if "@" in rest else url


def _from_redis_id(redis_id: str) -> str:
    return format_event_id(*parse_event_id(redis_id))


def _to_redis_id(event_id: str) -> str:
    ms, seq = parse_event_id(event_id)
    return f"{ms}-{seq}"


def _stream_entries(reply: Any, stream: str) -> list[tuple[str, dict[str, str]]]:
    # Clients are created with protocol=2, whose XREAD answer is [[name, entries]].
    if not reply:
        return []
    return [entry for name, entries in reply if name == stream for entry in entries]


def create_event_bus(redis_url: str | None, *, stream: str = "homewatch:events") -> EventBus:
    """A Redis-backed bus when ``redis_url`` is set (several processes), else an in-process one."""
    if redis_url:
        return RedisEventBus(redis_url, stream=stream)
    return InProcessEventBus()
