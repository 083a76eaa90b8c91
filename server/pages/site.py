"""What a browser asks of any site: its icon and its web app manifest (so the page can be added to a
phone's home screen and opens like an app)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from server import i18n
from server.i18n import Translator
from server.pages.rendering import STATIC_DIR, request_locale

router = APIRouter(include_in_schema=False)

# Icons change only with a release; a day of caching spares every page load a request.
_ICON_CACHE = {"Cache-Control": "public, max-age=86400"}


@router.get("/favicon.ico")
async def favicon() -> Response:
    # Pages name their icon; this answers the browsers and tools that ask for the old address anyway.
    return FileResponse(STATIC_DIR / "icon-192.png", media_type="image/png", headers=_ICON_CACHE)


@router.get("/manifest.webmanifest")
async def manifest(request: Request) -> Response:
    locale = request_locale(request)
    _ = Translator(locale)
    body = {
        "name": _("Home observation"),
        "short_name": _("Home observation"),
        "lang": i18n.HTML_LANG[locale],
        # "/" sends each caller to their own start: a person to their page, staff to the roster.
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#f3f5f7",
        "theme_color": "#0b5cad",
        "icons": [
            {"src": "/static/icon-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": "/static/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {"src": "/static/icon.svg", "sizes": "any", "type": "image/svg+xml"},
        ],
    }
    return JSONResponse(body, media_type="application/manifest+json",
                        headers={"Cache-Control": "no-cache", "Vary": "Accept-Language, Cookie"})
