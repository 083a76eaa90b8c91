import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from server.events import Event, InProcessEventBus, SubscriberLagged, Subscription, create_event_bus
from server.events.bus import format_event_id


def reading(subject: str, grid: int | None = 1, **extra: object) -> dict[str, object]:
    return {"subject_id": subject, "grid_id": grid, "status": "observing", "flags": [], **extra}


async def take(subscription: Subscription, count: int) -> list[Event]:
    async with asyncio.timeout(5):
        return [await anext(subscription) for _ in range(count)]


async def test_event_round_trips_through_json_with_chinese_text() -> None:
    event = Event(id="0001732806000000-000001", type="reading.created", data=reading("s1", note="发热"))

    text = event.to_json()

    assert "发热" in text
    assert Event.from_json(text) == event


async def test_subscriber_receives_published_events_in_order() -> None:
    bus = InProcessEventBus()
    async with bus.subscribe() as subscription:
        published = [await bus.publish("reading.created", reading(f"s{n}")) for n in range(3)]

        received = await take(subscription, 3)

    assert received == published


async def test_ids_increase_and_sort_as_strings_even_within_one_millisecond() -> None:
    bus = InProcessEventBus()

    ids = [(await bus.publish("reading.created", reading("s"))).id for _ in range(2000)]

    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


async def test_resume_replays_missed_events_then_continues_live_without_duplicates() -> None:
    bus = InProcessEventBus()
    events = [await bus.publish("reading.created", reading(f"s{n}")) for n in range(5)]

    async with bus.subscribe(last_event_id=events[1].id) as subscription:
        live = await bus.publish("alert.opened", reading("s9"))
        received = await take(subscription, 4)

    assert received == [*events[2:], live]


async def test_resume_from_the_newest_event_waits_for_live_ones() -> None:
    bus = InProcessEventBus()
    newest = await bus.publish("reading.created", reading("s1"))

    async with bus.subscribe(last_event_id=newest.id) as subscription:
        pending = asyncio.ensure_future(anext(subscription))
        await asyncio.sleep(0.01)
        assert not pending.done()
        live = await bus.publish("reading.created", reading("s2"))
        assert await asyncio.wait_for(pending, 1) == live


async def test_resume_after_events_were_trimmed_by_count_reports_a_gap() -> None:
    bus = InProcessEventBus(max_retained=3)
    events = [await bus.publish("reading.created", reading(f"s{n}")) for n in range(6)]

    async with bus.subscribe(last_event_id=events[1].id) as subscription:
        with pytest.raises(SubscriberLagged) as lagged:
            await anext(subscription)

    assert lagged.value.reason == "gap"


async def test_resume_from_the_newest_trimmed_event_loses_nothing() -> None:
    bus = InProcessEventBus(max_retained=3)
    events = [await bus.publish("reading.created", reading(f"s{n}")) for n in range(6)]

    # events[2] was trimmed, but everything after it is still retained.
    async with bus.subscribe(last_event_id=events[2].id) as subscription:
        assert await take(subscription, 3) == events[3:]


async def test_events_older_than_retention_are_trimmed() -> None:
    bus = InProcessEventBus(retention=timedelta(milliseconds=30))
    old = await bus.publish("reading.created", reading("s1"))
    older_still = await bus.publish("reading.created", reading("s2"))
    await asyncio.sleep(0.05)
    await bus.publish("reading.created", reading("s3"))

    async with bus.subscribe(last_event_id=old.id) as subscription:
        with pytest.raises(SubscriberLagged, match="gap"):
            await anext(subscription)
    assert older_still.id > old.id


async def test_id_from_before_the_bus_started_reports_a_gap() -> None:
    bus = InProcessEventBus()
    from_previous_process = format_event_id(1_600_000_000_000, 7)

    async with bus.subscribe(last_event_id=from_previous_process) as subscription:
        with pytest.raises(SubscriberLagged, match="gap"):
            await anext(subscription)


@pytest.mark.parametrize("bad_id", ["9999999999999-000000", "not-an-id", ""])
async def test_unknown_or_malformed_last_event_id_reports_a_reset(bad_id: str) -> None:
    bus = InProcessEventBus()
    await bus.publish("reading.created", reading("s1"))

    async with bus.subscribe(last_event_id=bad_id) as subscription:
        with pytest.raises(SubscriberLagged) as lagged:
            await anext(subscription)

    assert lagged.value.reason == "reset"


async def test_slow_subscriber_lags_instead_of_silently_dropping_events() -> None:
    bus = InProcessEventBus()
    async with bus.subscribe(max_queue=3) as slow, bus.subscribe() as fast:
        first = await bus.publish("reading.created", reading("s0"))
        assert await anext(slow) == first
        for n in range(1, 5):
            await bus.publish("reading.created", reading(f"s{n}"))

        with pytest.raises(SubscriberLagged) as lagged:
            await anext(slow)
        assert len(await take(fast, 5)) == 5

    assert lagged.value.reason == "overflow"
    assert lagged.value.last_event_id == first.id
    assert bus.subscriber_count == 0


async def test_lagged_subscriber_stops_receiving_and_is_detached() -> None:
    bus = InProcessEventBus()
    async with bus.subscribe(max_queue=1) as slow:
        for n in range(3):
            await bus.publish("reading.created", reading(f"s{n}"))
        assert bus.subscriber_count == 0
        with pytest.raises(SubscriberLagged):
            await anext(slow)


async def test_a_thousand_subscribers_all_receive_every_event() -> None:
    bus = InProcessEventBus()
    subscriptions = [bus.subscribe() for _ in range(1000)]
    for subscription in subscriptions:
        await subscription.__aenter__()

    published = [await bus.publish("subject.status_changed", reading(f"s{n}")) for n in range(5)]
    received = await asyncio.gather(*(take(subscription, 5) for subscription in subscriptions))

    assert all(events == published for events in received)
    for subscription in subscriptions:
        await subscription.__aexit__(None, None, None)
    assert bus.subscriber_count == 0


async def test_stop_ends_open_subscriptions() -> None:
    bus = InProcessEventBus()
    async with bus.subscribe() as subscription:
        waiting = asyncio.ensure_future(anext(subscription))
        await asyncio.sleep(0)

        await bus.stop()

        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(waiting, 1)


async def test_iterating_without_entering_the_subscription_fails_loudly() -> None:
    with pytest.raises(RuntimeError, match="async with"):
        await anext(InProcessEventBus().subscribe())


async def test_data_that_redis_could_not_carry_is_refused_and_subscribers_get_a_copy() -> None:
    bus = InProcessEventBus()
    with pytest.raises(TypeError):
        await bus.publish("reading.created", reading("s1", taken_at=datetime.now(UTC)))

    data = reading("s2")
    async with bus.subscribe() as subscription:
        await bus.publish("reading.created", data)
        data["status"] = "released"
        (received,) = await take(subscription, 1)

    assert received.data["status"] == "observing"


async def test_without_redis_url_an_in_process_bus_is_created() -> None:
    assert isinstance(create_event_bus(None), InProcessEventBus)
    assert isinstance(create_event_bus(""), InProcessEventBus)
