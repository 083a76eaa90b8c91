"""Staff sign-in and sign-out, the start page, and the language switcher."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from server import i18n
from server.auth.principal import Admin, Caller, Clinician, GridWorker, Staff
from server.auth.service import sign_out
from server.deps import STAFF_COOKIE, client_address
from server.errors import AppError
from server.pages.rendering import LANG_COOKIE, AnyPage, SignInPage, safe_next

router = APIRouter(include_in_schema=False)


def _home(caller: Caller | None) -> str:
    """Where each caller starts: admins at the summary, clinicians at the roster, grid workers at their
    round, the command centre at the brief, a person at their page."""
    if isinstance(caller, Admin):
        return "/admin"
    if isinstance(caller, Clinician):
        return "/roster"
    if isinstance(caller, GridWorker):
        return "/round"
    if isinstance(caller, Staff):
        return "/brief"
    return "/me" if caller is not None else "/login"


@router.get("/")
async def index(page: AnyPage) -> Response:
    return page.redirect(_home(page.caller))


@router.get("/login")
async def login_form(page: AnyPage, next: str | None = None, signed_out: str | None = None) -> Response:
    if isinstance(page.caller, Staff):
        return page.redirect(safe_next(next, _home(page.caller)))
    return page.render("staff/login.html", next=safe_next(next, ""), username="", error=None,
                       signed_out=signed_out == "1")


@router.post("/login")
async def login(page: SignInPage, request: Request) -> Response:
    form = await page.form()
    username = str(form.get("username", ""))[:64]
    password = str(form.get("password", ""))[:200]
    next_path = safe_next(str(form.get("next", "")), "")
    try:
        signed_in = await page.ctx.sign_ins.staff(username=username, password=password,
                                                  address=client_address(request), now=page.ctx.now())
    except AppError as error:
        detail = i18n.error_detail(page.locale, error.message, error.params, error.extra, error.detail)
        response = page.render("staff/login.html", status_code=error.status_code, next=next_path,
                               username=username, error=detail, signed_out=False)
        if error.headers:
            response.headers.update(error.headers)
        return response
    page.set_cookie(STAFF_COOKIE, signed_in.token, max_age=int(page.ctx.settings.staff_token_hours * 3600))
    return page.redirect(next_path or _home(signed_in.caller))


@router.post("/logout")
async def logout(page: AnyPage, request: Request) -> Response:
    await page.form()
    # Revoked, not only forgotten by this browser: a copy of the cookie signs nobody in any more.
    await sign_out(page.session, page.ctx.authenticator, request.cookies.get(STAFF_COOKIE), now=page.ctx.now())
    page.delete_cookie(STAFF_COOKIE)
    return page.redirect("/login?signed_out=1")


@router.get("/lang/{locale}")
async def switch_language(locale: str, page: AnyPage, next: str | None = None) -> Response:
    """The language switcher: a plain link, so it works without JavaScript; remembered for a year."""
    if locale in i18n.LOCALES:
        page.set_cookie(LANG_COOKIE, locale, max_age=365 * 86400, httponly=False)
    return page.redirect(safe_next(next, "/"))
