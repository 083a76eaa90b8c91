"""Live domain events: the bus that fans them out across processes and the SSE stream that
delivers them to browsers."""

from server.events.bus import (
    Event,
    EventBus,
    EventBusUnavailable,
    InProcessEventBus,
    RedisEventBus,
    SubscriberLagged,
    Subscription,
    create_event_bus,
)
from server.events.sse import event_stream

__all__ = [
    "Event",
    "EventBus",
    "EventBusUnavailable",
    "InProcessEventBus",
    "RedisEventBus",
    "SubscriberLagged",
    "Subscription",
    "create_event_bus",
    "event_stream",
]
