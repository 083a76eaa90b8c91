"""The media manager's place in the app's lifespan."""

from __future__ import annotations

from server.context import AppContext
from server.settings import Settings
from webrtc import MediaConfig, MediaManager, TurnConfig, parse_ice_servers, parse_turn_urls


def turn_config(settings: Settings) -> TurnConfig | None:
    urls = parse_turn_urls(settings.turn_urls)
    if not urls or not settings.turn_secret:
        return None
    return TurnConfig(urls=urls, secret=settings.turn_secret, ttl_seconds=settings.turn_ttl_seconds)


def media_config(settings: Settings) -> MediaConfig:
    return MediaConfig(
        ice_servers=parse_ice_servers(settings.ice_servers),
        turn=turn_config(settings),
        max_checkin_seconds=settings.checkin_max_seconds,
        max_sessions=settings.checkin_max_sessions,
        snapshot_interval_seconds=settings.checkin_snapshot_interval,
        max_snapshots=settings.checkin_max_snapshots,
        min_completed_seconds=settings.checkin_min_seconds,
        record=settings.checkin_record,
        media_dir=settings.media_dir / "recordings",
    )


def start_media(ctx: AppContext) -> MediaManager:
    manager = MediaManager(media_config(ctx.settings))
    ctx.media = manager
    return manager


async def stop_media(ctx: AppContext) -> None:
    manager, ctx.media = ctx.media, None
    if manager is not None:
        await manager.close()


def media(ctx: AppContext) -> MediaManager:
    """The running media manager (requests only arrive while the app runs)."""
    if ctx.media is None:
        raise RuntimeError("the media manager runs only inside the app's lifespan")
    return ctx.media
