"""Two RedisEventBus instances sharing one stream stand for two app processes."""

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from server.events import Event, EventBusUnavailable, RedisEventBus, SubscriberLagged, Subscription, create_event_bus


def reading(n: int, grid: int | None = 1) -> dict[str, object]:
    return {"subject_id": f"s{n}", "grid_id": grid, "status": "observing", "flags": [], "n": n}


async def take(subscription: Subscription, count: int) -> list[Event]:
    async with asyncio.timeout(5):
        return [await anext(subscription) for _ in range(count)]


async def started_bus(redis_url: str, stream: str) -> RedisEventBus:
    bus = RedisEventBus(redis_url, stream=stream, block_ms=500)
    await bus.start()
    await bus.wait_ready(5)
    return bus


@pytest.fixture
async def process_a(redis_url: str, stream: str) -> AsyncIterator[RedisEventBus]:
    bus = await started_bus(redis_url, stream)
    yield bus
    await bus.stop()


@pytest.fixture
async def process_b(redis_url: str, stream: str) -> AsyncIterator[RedisEventBus]:
    bus = await started_bus(redis_url, stream)
    yield bus
    await bus.stop()


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


async def test_event_published_on_one_process_reaches_subscribers_of_both(
    process_a: RedisEventBus, process_b: RedisEventBus
) -> None:
    async with process_a.subscribe() as on_a, process_b.subscribe() as on_b:
        published = await process_a.publish("reading.created", reading(1) | {"note": "体温正常"})

        assert await take(on_a, 1) == [published]
        assert await take(on_b, 1) == [published]


async def test_ids_are_global_across_processes_and_sort_as_strings(
    process_a: RedisEventBus, process_b: RedisEventBus
) -> None:
    ids = []
    for n in range(20):
        bus = process_a if n % 2 else process_b
        ids.append((await bus.publish("reading.created", reading(n))).id)

    assert ids == sorted(ids)
    assert len(set(ids)) == 20


async def test_client_resuming_on_the_other_process_gets_exactly_the_missed_events(
    process_a: RedisEventBus, process_b: RedisEventBus
) -> None:
    async with process_a.subscribe() as on_a:
        await process_a.publish("reading.created", reading(1))
        await process_a.publish("reading.created", reading(2))
        last_seen = (await take(on_a, 2))[-1].id
    missed = [await process_a.publish("alert.opened", reading(n)) for n in (3, 4, 5)]

    async with process_b.subscribe(last_event_id=last_seen) as on_b:
        replayed = await take(on_b, 3)
        live = await process_a.publish("alert.acknowledged", reading(6))
        assert await take(on_b, 1) == [live]

    assert replayed == missed


async def test_resume_while_events_keep_coming_has_no_gap_or_duplicate_at_the_seam(
    process_a: RedisEventBus, process_b: RedisEventBus
) -> None:
    first = await process_a.publish("reading.created", reading(0))

    async def publish_many() -> None:
        for n in range(1, 400):
            await process_a.publish("reading.created", reading(n))
            if n % 50 == 0:
                await asyncio.sleep(0)

    publisher = asyncio.create_task(publish_many())
    await asyncio.sleep(0.01)
    async with process_b.subscribe(last_event_id=first.id) as on_b:
        received = await take(on_b, 399)
    await publisher

    assert [event.data["n"] for event in received] == list(range(1, 400))


async def test_replay_longer_than_one_page_is_complete(process_a: RedisEventBus, process_b: RedisEventBus) -> None:
    first = await process_a.publish("reading.created", reading(0))
    for n in range(1, 701):
        await process_a.publish("reading.created", reading(n))

    async with process_b.subscribe(last_event_id=first.id, max_queue=10) as on_b:
        received = await take(on_b, 700)

    assert [event.data["n"] for event in received] == list(range(1, 701))


async def test_a_thousand_subscribers_share_one_reader_connection(
    process_a: RedisEventBus, process_b: RedisEventBus, raw: aioredis.Redis, stream: str
) -> None:
    subscriptions = [process_b.subscribe() for _ in range(1000)]
    for subscription in subscriptions:
        await subscription.__aenter__()

    published = [await process_a.publish("subject.status_changed", reading(n)) for n in range(10)]
    received = await asyncio.gather(*(take(subscription, 10) for subscription in subscriptions))

    assert all(events == published for events in received)
    readers = [client for client in await raw.client_list() if client["name"].endswith(f"reader[{stream}]")]
    assert len(readers) == 2  # one per process, however many subscribers
    for subscription in subscriptions:
        await subscription.__aexit__(None, None, None)


async def test_resume_after_the_missed_events_were_trimmed_reports_a_gap(
    process_a: RedisEventBus, process_b: RedisEventBus, raw: aioredis.Redis, stream: str
) -> None:
    events = [await process_a.publish("reading.created", reading(n)) for n in range(10)]
    await raw.xtrim(stream, maxlen=3, approximate=False)

    async with process_b.subscribe(last_event_id=events[2].id) as on_b:
        with pytest.raises(SubscriberLagged) as lagged:
            await anext(on_b)

    assert lagged.value.reason == "gap"


async def test_resume_from_a_retained_event_after_trimming_loses_nothing(
    process_a: RedisEventBus, process_b: RedisEventBus, raw: aioredis.Redis, stream: str
) -> None:
    events = [await process_a.publish("reading.created", reading(n)) for n in range(10)]
    await raw.xtrim(stream, maxlen=3, approximate=False)

    async with process_b.subscribe(last_event_id=events[7].id) as on_b:
        assert await take(on_b, 2) == events[8:]


async def test_resume_from_a_trimmed_event_reports_a_gap_because_redis_cannot_tell_what_followed_it(
    process_a: RedisEventBus, process_b: RedisEventBus, raw: aioredis.Redis, stream: str
) -> None:
    # Nothing after events[6] was lost, but a stream does not record which ids trimming removed;
    # asking the client to reload is the price of never missing an event silently.
    events = [await process_a.publish("reading.created", reading(n)) for n in range(10)]
    await raw.xtrim(stream, maxlen=3, approximate=False)

    async with process_b.subscribe(last_event_id=events[6].id) as on_b:
        with pytest.raises(SubscriberLagged, match="gap"):
            await anext(on_b)


async def test_id_the_stream_never_issued_reports_a_reset(process_a: RedisEventBus, process_b: RedisEventBus) -> None:
    await process_a.publish("reading.created", reading(1))

    async with process_b.subscribe(last_event_id="9999999999999-000000") as on_b:
        with pytest.raises(SubscriberLagged) as lagged:
            await anext(on_b)

    assert lagged.value.reason == "reset"


async def test_slow_subscriber_on_the_receiving_process_lags(
    process_a: RedisEventBus, process_b: RedisEventBus
) -> None:
    async with process_b.subscribe(max_queue=2) as slow, process_b.subscribe() as fast:
        for n in range(5):
            await process_a.publish("reading.created", reading(n))
        await take(fast, 5)

        with pytest.raises(SubscriberLagged) as lagged:
            await anext(slow)

    assert lagged.value.reason == "overflow"


async def test_reader_reconnects_and_delivers_what_was_published_meanwhile(
    process_a: RedisEventBus, process_b: RedisEventBus, raw: aioredis.Redis, stream: str
) -> None:
    async with process_b.subscribe() as on_b:
        before = await process_a.publish("reading.created", reading(1))
        assert await take(on_b, 1) == [before]

        for client in await raw.client_list():
            if client["name"] == f"homewatch-events-reader[{stream}]":
                await raw.client_kill_filter(_id=client["id"])
        during = [await process_a.publish("reading.created", reading(n)) for n in (2, 3)]

        assert await take(on_b, 2) == during


async def test_publish_without_start_fails_loudly(redis_url: str, stream: str) -> None:
    with pytest.raises(RuntimeError, match="start"):
        await RedisEventBus(redis_url, stream=stream).publish("reading.created", reading(1))


async def test_with_redis_url_a_redis_bus_is_created(redis_url: str) -> None:
    assert isinstance(create_event_bus(redis_url), RedisEventBus)


async def test_bus_without_reachable_redis_keeps_the_app_up_and_fails_only_publish_and_replay(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bus = RedisEventBus(f"redis://127.0.0.1:{port}/0", stream="homewatch:test:down")

    await bus.start(startup_wait_seconds=0.2)
    with pytest.raises(EventBusUnavailable):
        await bus.publish("reading.created", reading(1))
    async with bus.subscribe(last_event_id="0001700000000000-000000") as subscription:
        with pytest.raises(EventBusUnavailable):
            await anext(subscription)
    await asyncio.wait_for(bus.stop(), 5)

    assert "not reachable yet" in caplog.text
