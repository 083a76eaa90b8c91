import asyncio
import json
from collections.abc import AsyncGenerator
from typing import Any

import pytest

from server.events import Event, InProcessEventBus, event_stream
from server.events.sealing import PositionSealer
from server.events.sse import encode_message


def reading(subject: str, grid: int | None) -> dict[str, object]:
    return {"subject_id": subject, "grid_id": grid, "status": "observing", "flags": ["fever"]}


def in_grids(*grids: int) -> Any:
    return lambda event: event.data.get("grid_id") in grids


def allow_all(event: Event) -> bool:
    return True


async def next_message(stream: AsyncGenerator[dict[str, Any], None]) -> dict[str, Any]:
    return await asyncio.wait_for(anext(stream), 2)


async def subscribed(bus: InProcessEventBus, stream: AsyncGenerator[dict[str, Any], None]) -> asyncio.Future[Any]:
    """Start waiting for the first message; return once the stream has subscribed to the bus."""
    pending = asyncio.ensure_future(next_message(stream))
    async with asyncio.timeout(1):
        while bus.subscriber_count == 0:
            await asyncio.sleep(0)
    return pending


async def test_allowed_event_becomes_an_sse_message_with_id_type_and_json_data() -> None:
    bus = InProcessEventBus()
    stream = event_stream(bus, last_event_id=None, allow=allow_all)
    pending = await subscribed(bus, stream)

    event = await bus.publish("alert.opened", reading("s1", 3) | {"note": "高热"})
    message = await pending

    assert message == {
        "id": event.id,
        "event": "alert.opened",
        "data": json.dumps(event.data, ensure_ascii=False, separators=(",", ":")),
    }
    assert json.loads(message["data"])["note"] == "高热"
    encoded = encode_message(message).decode()
    assert f"id: {event.id}" in encoded and "event: alert.opened" in encoded
    await stream.aclose()
    assert bus.subscriber_count == 0


async def test_staff_only_receive_events_of_their_grids() -> None:
    bus = InProcessEventBus()
    stream = event_stream(bus, last_event_id=None, allow=in_grids(1), heartbeat_seconds=60)
    pending = await subscribed(bus, stream)

    await bus.publish("reading.created", reading("other-grid", 2))
    await bus.publish("reading.created", reading("no-grid", None))
    mine = await bus.publish("reading.created", reading("mine", 1))

    assert (await pending)["id"] == mine.id
    await stream.aclose()


async def test_idle_stream_sends_heartbeat_comments() -> None:
    bus = InProcessEventBus()
    stream = event_stream(bus, last_event_id=None, allow=allow_all, heartbeat_seconds=0.02)

    first, second = await next_message(stream), await next_message(stream)

    assert first == second == {"comment": "heartbeat"}
    await stream.aclose()


async def test_heartbeat_carries_the_position_past_filtered_events_sealed() -> None:
    """Reconnects resume past events the client was not shown, and the heartbeat tells it nothing about them:
    not their ids (which are their times), nor, by changing or not, whether any happened."""
    sealer = PositionSealer("test-secret-key-that-is-long-enough")
    bus = InProcessEventBus()
    stream = event_stream(bus, last_event_id=None, allow=in_grids(1), heartbeat_seconds=0.05, seal=sealer.seal)
    pending = await subscribed(bus, stream)

    hidden = await bus.publish("reading.created", reading("other-grid", 2))
    heartbeat = await pending
    quiet = await next_message(stream)

    assert heartbeat["comment"] == quiet["comment"] == "heartbeat"
    assert hidden.id not in heartbeat["id"] and hidden.id.split("-")[0] not in heartbeat["id"]
    assert heartbeat["id"] != quiet["id"]  # sealed afresh each time
    assert sealer.unseal(heartbeat["id"]) == sealer.unseal(quiet["id"]) == hidden.id
    encoded = encode_message(heartbeat).decode()
    assert encoded.startswith(": heartbeat") and f"id: {heartbeat['id']}" in encoded and "data:" not in encoded
    await stream.aclose()


async def test_a_sealed_position_resumes_and_a_forged_one_is_ignored() -> None:
    sealer = PositionSealer("test-secret-key-that-is-long-enough")
    bus = InProcessEventBus()
    hidden = await bus.publish("reading.created", reading("other-grid", 2))
    missed = await bus.publish("alert.opened", reading("s1", 1))
    stream = event_stream(bus, last_event_id=sealer.unseal(sealer.seal(hidden.id)), allow=in_grids(1),
                          heartbeat_seconds=60, seal=sealer.seal)
    assert (await next_message(stream))["id"] == missed.id
    await stream.aclose()
    assert PositionSealer("another-secret-key-that-is-long").unseal(sealer.seal(hidden.id)) is None
    assert sealer.unseal("s.forged") is None
    assert sealer.unseal(missed.id) == missed.id  # a plain id the client was sent


async def test_reconnect_with_last_event_id_replays_missed_allowed_events() -> None:
    bus = InProcessEventBus()
    seen = await bus.publish("reading.created", reading("s1", 1))
    missed = await bus.publish("alert.opened", reading("s1", 1))
    await bus.publish("alert.opened", reading("s2", 2))

    stream = event_stream(bus, last_event_id=seen.id, allow=in_grids(1), heartbeat_seconds=60)

    assert (await next_message(stream))["id"] == missed.id
    await stream.aclose()


async def test_client_that_fell_behind_is_told_to_reload_and_the_stream_ends() -> None:
    bus = InProcessEventBus()
    stream = event_stream(bus, last_event_id=None, allow=allow_all, max_queue=2, heartbeat_seconds=60)
    pending = await subscribed(bus, stream)

    for n in range(5):
        await bus.publish("reading.created", reading(f"s{n}", 1))
    messages = [await pending]
    async for message in stream:
        messages.append(message)

    assert messages[-1] == {"event": "reload", "data": json.dumps({"reason": "overflow"})}
    assert len(messages) <= 3


async def test_expired_last_event_id_gets_a_reload_right_away() -> None:
    bus = InProcessEventBus(max_retained=2)
    old = await bus.publish("reading.created", reading("s0", 1))
    for n in range(1, 5):
        await bus.publish("reading.created", reading(f"s{n}", 1))

    messages = [message async for message in event_stream(bus, last_event_id=old.id, allow=allow_all)]

    assert messages == [{"event": "reload", "data": json.dumps({"reason": "gap"})}]


async def test_stopping_the_bus_ends_open_streams() -> None:
    bus = InProcessEventBus()
    stream = event_stream(bus, last_event_id=None, allow=allow_all, heartbeat_seconds=60)
    pending = await subscribed(bus, stream)

    await bus.stop()

    with pytest.raises(StopAsyncIteration):
        await pending


async def test_stream_ended_by_the_client_releases_its_subscription_while_waiting() -> None:
    bus = InProcessEventBus()
    stream = event_stream(bus, last_event_id=None, allow=allow_all, heartbeat_seconds=0.01)
    await next_message(stream)
    assert bus.subscriber_count == 1

    await stream.aclose()

    assert bus.subscriber_count == 0


async def test_access_is_checked_every_heartbeat_even_on_a_busy_stream() -> None:
    bus = InProcessEventBus()
    checks: list[float] = []
    loop = asyncio.get_running_loop()

    async def still_allowed() -> bool:
        checks.append(loop.time())
        return len(checks) < 2

    stream = event_stream(bus, last_event_id=None, allow=allow_all, heartbeat_seconds=0.3,
                          still_allowed=still_allowed)
    pending = await subscribed(bus, stream)
    started = loop.time()

    async def publish_often() -> None:
        while True:
            await bus.publish("reading.created", reading("s1", 1))
            await asyncio.sleep(0.05)

    publisher = asyncio.ensure_future(publish_often())
    try:
        messages = [await pending]
        async with asyncio.timeout(3):
            async for message in stream:
                messages.append(message)
    finally:
        publisher.cancel()
    assert messages[-1] == {"event": "reload", "data": json.dumps({"reason": "access"})}
    assert len(messages) > 5  # events kept flowing until access ended
    assert len(checks) == 2 and checks[1] - started < 1.0
