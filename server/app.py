"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response

from server import i18n, pages, validation
from server.alerts.router import router as alerts_router
from server.areas.router import router as areas_router
from server.audit.router import router as audit_router
from server.auth.router import router as auth_router
from server.body_limit import BodyLimit
from server.brief.router import router as brief_router
from server.checkins.cluster import MediaElsewhere
from server.checkins.cluster import forward as forward_to_owner
from server.checkins.lifecycle import start_media, stop_media
from server.checkins.media import media_refusal
from server.checkins.router import router as checkins_router
from server.context import AppContext
from server.db import UNREACHABLE_ERRORS, Database, database_unreachable
from server.declarations.router import census_router
from server.declarations.router import router as declarations_router
from server.deps import refuse_cross_site_cookie_writes
from server.errors import AppError, NotFound, Unauthorized, Unavailable
from server.exports.router import router as exports_router
from server.fhir.router import router as fhir_router
from server.grids.router import router as grids_router
from server.headers import SecurityHeaders
from server.households.router import router as households_router
from server.live.lifecycle import start_bus, stop_bus
from server.live.router import router as live_router
from server.logs import install_redaction
from server.me.router import router as me_router
from server.metrics import Metrics, RequestMetrics
from server.notifications.lifecycle import start_worker, stop_worker
from server.notifications.router import router as notifications_router
from server.pages.rendering import STATIC_DIR
from server.proxies import TrustedProxies
from server.readings.router import router as readings_router
from server.roster.router import router as roster_router
from server.round.router import router as round_router
from server.scheduler import service as scheduler
from server.settings import Settings
from server.sites.router import router as sites_router
from server.sms.router import router as sms_router
from server.subjects import census_jobs
from server.subjects.router import router as subjects_router
from server.subjects.router import verify_router
from server.users.router import router as users_router
from webrtc import MediaError

logger = logging.getLogger(__name__)

# Routes taking files: their bodies may reach HOMEWATCH_MAX_UPLOAD_BYTES instead of HOMEWATCH_MAX_BODY_BYTES.
UPLOAD_PATHS = ("/api/v1/subjects/import", "/admin/enrol/census")

API_DESCRIPTION = """
homewatch monitors people under home or centralised medical observation.

* **Subjects** sign in with the access code from their personal link and report temperatures.
* **Clinicians** watch the roster of their grids and acknowledge alerts.
* **Admins** manage grids and staff, enrol subjects and release them.

Errors share one shape: `{"error": "<kind>", "detail": "<a sentence for people>"}`.
"""


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> FastAPI:
    settings = settings or Settings()
    ctx = AppContext.create(settings, db)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Here rather than at import: the server has configured its loggers by the time the app starts.
        install_redaction()
        await start_bus(ctx)
        start_media(ctx)
        if settings.scheduler_enabled:
            scheduler.start(ctx)
        start_worker(ctx)
        try:
            yield
        finally:
            await scheduler.stop(ctx)
            await census_jobs.stop(ctx)
            await stop_worker(ctx)
            await stop_media(ctx)
            await stop_bus(ctx)
            if db is None:  # an injected database belongs to its owner (tests)
                await ctx.db.dispose()

    app = FastAPI(title="homewatch", version="0.1.0", description=API_DESCRIPTION, lifespan=lifespan)
    app.state.ctx = ctx

    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> Response:
        """The one rendering of an error: a page for page URLs, ``{"error", "detail"}`` for the API."""
        if pages.wants_page(request):
            return pages.error_response(request, exc)
        locale = i18n.from_accept_language(request.headers.get("accept-language")) or "en"
        detail = i18n.error_detail(locale, exc.message, exc.params, exc.extra, exc.detail)
        body: dict[str, Any] = {"error": exc.error, "detail": detail, **exc.extra}
        if isinstance(exc, validation.InvalidInput):
            body["errors"] = exc.details(locale)
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    # Listed innermost first. An oversized body is refused before anything reads it (server/body_limit.py),
    # with the security headers (server/headers.py), which need the scheme the trusted proxies report.
    # Innermost of all: the router writes the matched route into this very scope (outer layers copy it).
    app.add_middleware(RequestMetrics)
    app.add_middleware(BodyLimit, max_body=settings.max_body_bytes, max_upload=settings.max_upload_bytes,
                       upload_paths=UPLOAD_PATHS, render=app_error)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(TrustedProxies, networks=settings.trusted_proxy_networks)
    metrics = Metrics(ctx)

    @app.exception_handler(MediaElsewhere)
    async def media_elsewhere(request: Request, exc: MediaElsewhere) -> Response:
        try:
            return await forward_to_owner(request, exc.owner, me=settings.internal_url)
        except AppError as refusal:
            return await app_error(request, refusal)

    @app.exception_handler(MediaError)
    async def media_error(request: Request, exc: MediaError) -> Response:
        return await app_error(request, media_refusal(exc))

    async def backend_unreachable(request: Request, exc: Exception) -> Response:
        if not database_unreachable(exc):
            raise exc  # a real fault: the server error handler logs it and answers 500
        logger.warning("database unreachable during %s %s: %r", request.method, request.url.path, exc)
        return await app_error(request, Unavailable(
            "The service is briefly unavailable; please try again in a moment.", headers={"Retry-After": "2"}))

    for kind in UNREACHABLE_ERRORS:
        app.add_exception_handler(kind, backend_unreachable)

    @app.exception_handler(RequestValidationError)
    async def request_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        """Pydantic's errors in the caller's language (``detail``), with each problem's field, type and
        parameters as the contract (``errors``)."""
        locale = i18n.from_accept_language(request.headers.get("accept-language")) or "en"
        problems = validation.problems(exc.errors())
        detail = validation.join(locale, problems)
        return JSONResponse({"error": "invalid", "detail": detail, "errors": [p.as_json(locale) for p in problems]},
                            status_code=422)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics(request: Request) -> Response:
        """Prometheus text format; not served at all without HOMEWATCH_METRICS_TOKEN, and only to it."""
        if not settings.metrics_token:
            raise NotFound("Not found.")
        if not metrics.allowed(request.headers.get("authorization")):
            raise Unauthorized("Metrics need the metrics token.", headers={"WWW-Authenticate": "Bearer"})
        body, media_type = await metrics.render()
        return Response(body, media_type=media_type, headers={"Cache-Control": "no-store"})

    @app.get("/sw.js", include_in_schema=False)
    async def service_worker() -> Response:
        # Served from the root so the worker's scope covers every page (push needs no other scope).
        return FileResponse(STATIC_DIR / "sw.js", media_type="text/javascript",
                            headers={"Service-Worker-Allowed": "/", "Cache-Control": "no-cache"})

    api = APIRouter(prefix="/api/v1", dependencies=[Depends(refuse_cross_site_cookie_writes)])
    for router in (auth_router, areas_router, round_router, grids_router, users_router, subjects_router,
                   readings_router, me_router,
                   roster_router, alerts_router, audit_router, live_router, checkins_router, notifications_router,
                   verify_router, sites_router, households_router, sms_router, declarations_router,
                   census_router, exports_router, brief_router):
        api.include_router(router)
    app.include_router(api)
    app.include_router(fhir_router)
    pages.install(app)

    return app
