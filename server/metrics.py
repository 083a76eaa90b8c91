"""Prometheus metrics of one app process, served at ``/metrics`` when ``HOMEWATCH_METRICS_TOKEN`` is set.

Each process answers for itself (Prometheus scrapes every app process, not the proxy in front of them):
requests and their latency by route, readings stored by source, live media sessions, event-stream
clients, the status sweep's duration and lag, and the database pool. The outbox's backlog is the
deployment's, read from the database at scrape time.

The counters live at module level, unregistered, and every app's registry takes them: one process may
build several apps (the tests do), and a collector may belong to several registries but not twice to one.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.models.notifications import OutboxMessage

if TYPE_CHECKING:
    from server.context import AppContext

REQUESTS = Counter("homewatch_http_requests", "HTTP requests answered, by route template and status.",
                   ["method", "route", "status"], registry=None)
LATENCY = Histogram("homewatch_http_request_duration_seconds", "Time to answer a request (whole stream for "
                    "event streams and exports), by route template.", ["method", "route"], registry=None,
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
READINGS = Counter("homewatch_readings_ingested", "Readings stored, by source (self, clinician, visit, sms…).",
                   ["source"], registry=None)
SWEEP_SECONDS = Histogram("homewatch_sweep_duration_seconds", "Duration of one status sweep.", registry=None,
                          buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120))
SWEEP_LAG = Gauge("homewatch_sweep_lag_seconds", "How long after the latest window boundary the last sweep "
                  "started.", registry=None)
EVENT_CLIENTS = Gauge("homewatch_event_stream_clients", "Open event streams (live rosters, people's pages).",
                      registry=None)

PROCESS_WIDE: tuple[Collector, ...] = (REQUESTS, LATENCY, READINGS, SWEEP_SECONDS, SWEEP_LAG, EVENT_CLIENTS)
OUTBOX_STATUSES = ("pending", "failed")


class _AppState(Collector):
    """What one app holds right now: its media sessions and its database connections in use."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.outbox: dict[tuple[str, str], int] = {}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        media = self.ctx.media
        sessions = GaugeMetricFamily("homewatch_media_sessions", "Media sessions held by this process, by kind.",
                                     labels=["kind"])
        counts = media.counts() if media is not None else {"checkin": 0, "viewer": 0, "call": 0}
        for kind, n in sorted(counts.items()):
            sessions.add_metric([kind], n)
        yield sessions
        live = GaugeMetricFamily("homewatch_live_checkins", "Check-ins whose video is arriving now.")
        live.add_metric([], len(media.live_checkins()) if media is not None else 0)
        yield live
        pool = GaugeMetricFamily("homewatch_db_pool_in_use", "Database connections checked out of the pool.")
        checked_out = getattr(self.ctx.db.engine.sync_engine.pool, "checkedout", None)
        pool.add_metric([], float(checked_out()) if callable(checked_out) else 0.0)
        yield pool
        outbox = GaugeMetricFamily("homewatch_outbox_messages", "Outbox messages waiting or given up, by channel.",
                                   labels=["channel", "status"])
        for (channel, status), n in sorted(self.outbox.items()):
            outbox.add_metric([channel, status], n)
        yield outbox


class Metrics:
    """One app's registry: the process-wide counters plus what the app holds."""

    def __init__(self, ctx: AppContext) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        for collector in PROCESS_WIDE:
            self.registry.register(collector)
        self._state = _AppState(ctx)
        self.registry.register(self._state)
        self.ctx = ctx

    def allowed(self, authorization: str | None) -> bool:
        token = self.ctx.settings.metrics_token
        if not token or not authorization or not authorization.lower().startswith("bearer "):
            return False
        return hmac.compare_digest(authorization[7:].strip().encode(), token.encode())

    async def render(self) -> tuple[bytes, str]:
        async with self.ctx.db.session() as session:
            rows = (await session.execute(
                select(OutboxMessage.channel, OutboxMessage.status, func.count())
                .where(OutboxMessage.status.in_(OUTBOX_STATUSES))
                .group_by(OutboxMessage.channel, OutboxMessage.status))).all()
        self._state.outbox = {(channel, status): int(n) for channel, status, n in rows}
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class RequestMetrics:
    """Counts and times every HTTP request by its route template (``/api/v1/subjects/{subject_id}``,
    never the path itself, so people's ids never become label values)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            template = route_template(scope)
            method = scope.get("method", "GET")
            REQUESTS.labels(method, template, str(status["code"])).inc()
            LATENCY.labels(method, template).observe(time.perf_counter() - started)


def route_template(scope: Scope) -> str:
    """The matched route as a template: the path with each path parameter's value put back as its name.
    (The route object alone names its path within its own router, without the routers' prefixes.)"""
    path: str = scope.get("path", "")
    if scope.get("route") is None:
        return "static" if path.startswith("/static/") else "unmatched"
    params: dict[str, Any] = scope.get("path_params") or {}
    for name, value in sorted(params.items(), key=lambda item: -len(str(item[1]))):
        text = str(value)
        if text:
            path = path.replace(f"/{text}", f"/{{{name}}}", 1)
    return path
