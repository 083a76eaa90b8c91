"""The outbox worker's place in the app's lifespan: one task per process, channels closed on stop."""

from __future__ import annotations

import asyncio
import contextlib

from server.context import AppContext
from server.notifications.outbox import channels_for, run_worker


def start_worker(ctx: AppContext) -> None:
    if not ctx.settings.outbox_worker_enabled:
        return
    channels_for(ctx)  # a malformed channel setting fails start-up, not the first alert
    ctx.outbox_worker = asyncio.create_task(run_worker(ctx), name="homewatch-outbox")


async def stop_worker(ctx: AppContext) -> None:
    task, ctx.outbox_worker = ctx.outbox_worker, None
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    channels, ctx.outbox_channels = ctx.outbox_channels or {}, None
    for channel in channels.values():
        close = getattr(channel, "aclose", None)
        if close is not None:
            await close()
