"""The event bus's life in the app: started in the lifespan, fed by the unit of work after commit."""

from __future__ import annotations

from typing import Any

from server.context import AppContext
from server.events.bus import EventBus, create_event_bus


async def start_bus(ctx: AppContext) -> EventBus:
    bus = create_event_bus(ctx.settings.redis_url, stream=ctx.settings.event_stream)
    await bus.start()
    ctx.bus = bus

    async def publish(event_type: str, data: dict[str, Any]) -> None:
        await bus.publish(event_type, data)

    ctx.db.publisher = publish
    return bus


async def stop_bus(ctx: AppContext) -> None:
    ctx.db.publisher = None
    bus, ctx.bus = ctx.bus, None
    if bus is not None:
        await bus.stop()


def event_bus(ctx: AppContext) -> EventBus:
    """The running event bus (requests only arrive while the app runs)."""
    if ctx.bus is None:
        raise RuntimeError("the event bus runs only inside the app's lifespan")
    return ctx.bus
