"""Server-rendered pages for people under observation, clinicians and admins.

One module per area; each has its own ``router``. :func:`install` mounts them with the static files."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from server.errors import AppError, NotFound
from server.pages import (
    admin,
    brief,
    certificates,
    checkins,
    declare,
    household,
    roster,
    round,
    site,
    staff,
    subject,
    subject_detail,
)
from server.pages.rendering import STATIC_DIR, LoginRequired, create_templates, error_response, login_redirect

__all__ = ["error_response", "install", "wants_page"]

ROUTERS = (site.router, staff.router, subject.router, roster.router, subject_detail.router, admin.router,
           checkins.router, certificates.router, household.router, declare.router, brief.router,
           round.router)


def wants_page(request: Request) -> bool:
    """Errors on page URLs answer as pages; the API and everything under it keeps answering JSON."""
    path = request.url.path
    return not (path.startswith("/api/") or path.startswith("/static/") or path in ("/docs", "/openapi.json"))


def install(app: FastAPI) -> None:
    app.state.templates = create_templates()
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in ROUTERS:
        app.include_router(router)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        return login_redirect(request, exc)

    @app.exception_handler(HTTPException)
    async def no_such_page(request: Request, exc: HTTPException) -> Response:
        """A mistyped or outdated address gets our error page in the reader's language, not the
        framework's English "Not Found"; the API keeps the framework's answer."""
        if not wants_page(request):
            return await http_exception_handler(request, exc)
        error = NotFound("There is no page at this address.") if exc.status_code == 404 else \
            AppError("This address cannot be used like this.", status_code=exc.status_code, headers=exc.headers)
        return error_response(request, error)
