"""What every page shares: templates, language, who is signed in, CSRF, redirects and error pages."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Generic, TypeVar, cast
from urllib.parse import quote

from babel.dates import format_date, format_skeleton
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from server import i18n, labels
from server.auth.callers import HOUSEHOLD_COOKIE
from server.auth.principal import Admin, Caller, Clinician, HouseholdPrincipal, Staff, SubjectPrincipal
from server.context import AppContext
from server.csrf import CSRF_COOKIE, CSRF_FIELD
from server.deps import STAFF_COOKIE, SUBJECT_COOKIE, Ctx
from server.errors import AppError, CsrfRefused, Forbidden
from server.i18n import Translator
from server.models import Subject
from server.subjects import phones

WEB_DIR = Path(__file__).resolve().parent.parent.parent / "web"
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

LANG_COOKIE = "hw_lang"


def _static_url(path: str) -> str:
    # The file's mtime in the URL lets browsers cache static files for long and still see a new release.
    try:
        version = format(int((STATIC_DIR / path).stat().st_mtime), "x")
    except OSError:
        version = "0"
    return f"/static/{path}?v={version}"


def create_templates() -> Environment:
    """The pages' Jinja environment, with every global the templates use; one per app, made when the
    pages are installed (see :func:`server.pages.install`)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(static_url=_static_url, labels=labels)
    return env


def templates(request: Request) -> Environment:
    env: Environment = request.app.state.templates
    return env


def safe_next(target: str | None, default: str) -> str:
    """Only same-site paths, so a crafted link cannot bounce a signed-in person to another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


@dataclass
class Formatter:
    """Dates, times and temperatures in the deployment's time zone and the reader's language."""

    locale: str
    ctx: AppContext

    @property
    def _babel(self) -> str:
        return i18n.BABEL_LOCALE[self.locale]

    def datetime(self, value: datetime | None) -> str:
        if value is None:
            return "—"
        tz = self.ctx.settings.rules.tz
        local = value.astimezone(tz)
        today = self.ctx.now().astimezone(tz).date()
        time_part = format_skeleton("Hm", local, tzinfo=tz, locale=self._babel)
        if local.date() == today:
            _ = Translator(self.locale)
            return _("today {time}", time=time_part)
        return f"{format_skeleton('MMMd', local, tzinfo=tz, locale=self._babel, fuzzy=True)} {time_part}"

    # Annotated through the module: in this class, ``datetime`` and ``date`` name the methods below.
    def time(self, value: dt.datetime | None) -> str:
        if value is None:
            return "—"
        tz = self.ctx.settings.rules.tz
        return format_skeleton("Hm", value.astimezone(tz), tzinfo=tz, locale=self._babel)

    def date(self, value: dt.date | dt.datetime | None) -> str:
        if value is None:
            return "—"
        if isinstance(value, datetime):
            value = value.astimezone(self.ctx.settings.rules.tz).date()
        return format_date(value, "long", locale=self._babel)

    def last_day(self, subject: Subject) -> str:
        """The last day of observation (the stored end date is the first day after it)."""
        return self.date(subject.planned_end_date - timedelta(days=1))

    def short_date(self, value: dt.date) -> str:
        return format_skeleton("Md", datetime.combine(value, datetime.min.time()), locale=self._babel)

    @staticmethod
    def temperature(value: float | None) -> str:
        return "—" if value is None else f"{value:.1f} °C"

    @staticmethod
    def phone(value: str) -> str:
        return phones.display(value)


def _cookie_secure(ctx: AppContext) -> bool:
    return ctx.settings.public_url.startswith("https://")


async def page_session(ctx: Ctx) -> AsyncIterator[AsyncSession]:
    """The page's unit of work, committed before the response leaves: a browser following the
    redirect after a form must find what the form saved."""
    async with ctx.db.session() as session:
        yield session


PageSession = Annotated[AsyncSession, Depends(page_session, scope="function")]


class LoginRequired(Exception):
    def __init__(self, next_path: str | None) -> None:
        super().__init__(next_path)
        self.next_path = next_path


CallerT = TypeVar("CallerT", bound=Caller | HouseholdPrincipal | None, covariant=True)


@dataclass
class Page(Generic[CallerT]):
    """One page being answered: who asks (``caller``, typed by the page's dependency), in which
    language, and the form's CSRF check."""

    request: Request
    ctx: AppContext
    session: AsyncSession
    caller: CallerT
    locale: str
    csrf_cookie: str
    csrf_is_new: bool
    cookies: list[tuple[str, str | None, dict[str, Any]]] = field(default_factory=list)

    @property
    def staff(self) -> Staff | None:
        return self.caller if isinstance(self.caller, Staff) else None

    @property
    def subject(self) -> Subject | None:
        return self.caller.subject if isinstance(self.caller, SubjectPrincipal) else None

    @property
    def _(self) -> Translator:
        return Translator(self.locale)

    @property
    def fmt(self) -> Formatter:
        return Formatter(self.locale, self.ctx)

    @property
    def csrf_token(self) -> str:
        """The token for this page's forms and scripts, bound to this browser and its sign-in."""
        return self.ctx.csrf.issue(self.csrf_cookie, self.request.cookies)

    async def form(self) -> FormData:
        """The posted form, once its CSRF token proves it came from one of our pages in this browser,
        in the session it is signed in with now."""
        form = await self.request.form()
        if not self.ctx.csrf.valid(form.get(CSRF_FIELD), self.request.cookies):
            raise CsrfRefused("This form has expired or did not come from this site. "
                              "Please go back, reload the page and try again.")
        return form

    def set_cookie(self, name: str, value: str, **options: Any) -> None:
        self.cookies.append((name, value, options))

    def delete_cookie(self, name: str) -> None:
        self.cookies.append((name, None, {}))

    def _finish(self, response: Response) -> Response:
        secure = _cookie_secure(self.ctx)
        if self.csrf_is_new:
            response.set_cookie(CSRF_COOKIE, self.csrf_cookie, httponly=True, samesite="lax", secure=secure)
        for name, value, options in self.cookies:
            if value is None:
                response.delete_cookie(name, httponly=True, samesite="lax", secure=secure)
            else:
                merged: dict[str, Any] = {"httponly": True, "samesite": "lax", "secure": secure} | options
                response.set_cookie(name, value, **merged)
        _security_headers(response)
        return response

    def render(self, template: str, *, status_code: int = 200, **context: Any) -> Response:
        html = templates(self.request).get_template(template).render(**self.template_context(), **context)
        return self._finish(HTMLResponse(html, status_code=status_code))

    def redirect(self, url: str) -> Response:
        return self._finish(RedirectResponse(url, status_code=303))

    def error_text(self, error: AppError) -> str:
        """A refusal's message in the page's language, as the API's ``detail`` would give it."""
        return i18n.error_detail(self.locale, error.message, error.params, error.extra, error.detail)

    def template_context(self) -> dict[str, Any]:
        return _base_context(self.request, self.ctx, self.locale, staff=self.staff, subject=self.subject,
                             csrf_token=self.csrf_token)


def _security_headers(response: Response) -> None:
    response.headers.setdefault("Cache-Control", "no-store")  # every page shows personal data
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")


def _base_context(request: Request, ctx: AppContext, locale: str, *, staff: Staff | None,
                  subject: Subject | None, csrf_token: str | None) -> dict[str, Any]:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return {
        "_": Translator(locale),
        "fmt": Formatter(locale, ctx),
        "locale": locale,
        "html_lang": i18n.HTML_LANG[locale],
        "locale_names": i18n.LOCALE_NAMES,
        "here": here,
        "here_quoted": quote(here, safe=""),
        "path": request.url.path,
        "staff": staff,
        "subject": subject,
        "csrf_token": csrf_token,
        "csrf_field": CSRF_FIELD,
        "settings": ctx.settings,
    }


def request_locale(request: Request, saved: str | None = None) -> str:
    return i18n.negotiate(chosen=request.cookies.get(LANG_COOKIE), saved=saved,
                          accept_language=request.headers.get("accept-language"))


_C = TypeVar("_C", bound=Caller | HouseholdPrincipal | None)


def _page(request: Request, ctx: AppContext, session: AsyncSession, caller: _C) -> Page[_C]:
    saved = (caller.language if isinstance(caller, Staff)
             else caller.subject.language if isinstance(caller, SubjectPrincipal) else None)
    cookie = request.cookies.get(CSRF_COOKIE)
    return Page(request=request, ctx=ctx, session=session, caller=caller, locale=request_locale(request, saved),
                csrf_cookie=cookie or secrets.token_urlsafe(24), csrf_is_new=not cookie)


def _next_path(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


# Pages are signed in by cookie only (never a bearer header): the same authenticator as the API's.
async def page_for_anyone(request: Request, ctx: Ctx, session: PageSession) -> Page[Caller | None]:
    """Whoever is signed in in this browser, if anyone: a staff member before a person under observation
    (one browser can hold both cookies)."""
    caller = await ctx.authenticator.caller(session, request.cookies.get(STAFF_COOKIE), now=ctx.now())
    if caller is None:
        caller = await ctx.authenticator.caller(session, request.cookies.get(SUBJECT_COOKIE), now=ctx.now())
    return _page(request, ctx, session, caller)


async def page_for_signing_in(request: Request, ctx: Ctx, session: PageSession) -> Page[None]:
    """A page that signs someone in: nobody is signed in on it yet, and its session stays unused (so
    holds no pooled connection) while the sign-in runs its own units of work."""
    return _page(request, ctx, session, None)


async def page_for_any_staff(request: Request, ctx: Ctx, session: PageSession) -> Page[Staff]:
    """A page for staff of any role; anyone else is sent to the sign-in page, and back here after it."""
    caller = await ctx.authenticator.caller(session, request.cookies.get(STAFF_COOKIE), now=ctx.now())
    if not isinstance(caller, Staff):
        raise LoginRequired(_next_path(request))
    return _page(request, ctx, session, caller)


async def page_for_staff(page: Annotated[Page[Staff], Depends(page_for_any_staff)]) -> Page[Staff]:
    """An administrator's or a clinician's page; 403 for a grid worker or an observer."""
    if not page.caller.sees_everything:
        raise Forbidden("Your role cannot open this page.")
    return page


async def page_for_field_staff(page: Annotated[Page[Staff], Depends(page_for_any_staff)]) -> Page[Staff]:
    """A page for staff who see people (administrators, clinicians, grid workers); 403 for an observer."""
    if not page.caller.sees_people:
        raise Forbidden("Your role cannot open this page.")
    return page


async def page_for_admin(page: Annotated[Page[Staff], Depends(page_for_any_staff)]) -> Page[Admin]:
    """An admin's page; 403 for a clinician."""
    if not isinstance(page.caller, Admin):
        raise Forbidden("Only an administrator can do this.")
    return cast(Page[Admin], page)


async def page_for_clinician(page: Annotated[Page[Staff], Depends(page_for_any_staff)]) -> Page[Clinician]:
    """A clinician's page; 403 for an admin."""
    if not isinstance(page.caller, Clinician):
        raise Forbidden("Only a clinician can do this.")
    return cast(Page[Clinician], page)


async def page_for_subject(request: Request, ctx: Ctx, session: PageSession) -> Page[SubjectPrincipal]:
    """A person's own page; without their sign-in, the start page (which asks them to open their link)."""
    caller = await ctx.authenticator.caller(session, request.cookies.get(SUBJECT_COOKIE), now=ctx.now())
    if not isinstance(caller, SubjectPrincipal):
        raise LoginRequired(None)
    return _page(request, ctx, session, caller)


async def page_for_household(request: Request, ctx: Ctx, session: PageSession) -> Page[HouseholdPrincipal]:
    """A household's page; without its sign-in, the start page (which asks to open the household link)."""
    caller = await ctx.authenticator.household(session, request.cookies.get(HOUSEHOLD_COOKIE))
    if caller is None:
        raise LoginRequired(None)
    return _page(request, ctx, session, caller)


# Any page, whoever it is for (pages are covariant in their caller).
AnyCallerPage = Page[Caller | None]
AnyPage = Annotated[Page[Caller | None], Depends(page_for_anyone)]
SignInPage = Annotated[Page[None], Depends(page_for_signing_in)]
StaffPage = Annotated[Page[Staff], Depends(page_for_staff)]
FieldStaffPage = Annotated[Page[Staff], Depends(page_for_field_staff)]
AnyStaffPage = Annotated[Page[Staff], Depends(page_for_any_staff)]
AdminPage = Annotated[Page[Admin], Depends(page_for_admin)]
ClinicianPage = Annotated[Page[Clinician], Depends(page_for_clinician)]
SubjectPage = Annotated[Page[SubjectPrincipal], Depends(page_for_subject)]
HouseholdPage = Annotated[Page[HouseholdPrincipal], Depends(page_for_household)]


def link_page(page: Page[Any], template: str, *, status_code: int, **context: Any) -> Response:
    """What a personal or household link answers when it does not sign in. The code in the address is a
    password: no Referer may carry it to another site."""
    response = page.render(template, status_code=status_code, **context)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def link_signed_in(page: Page[Any], *, cookie: str, token: str, to: str) -> Response:
    """A link that signed in: the token as the cookie it is kept in, and on to its page (no Referer either)."""
    page.set_cookie(cookie, token, max_age=int(page.ctx.settings.subject_token_days * 86400))
    response = page.redirect(to)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def error_response(request: Request, exc: AppError) -> Response:
    """An error as a page a person can act on, in their language, with the same status as the API's."""
    ctx: AppContext = request.app.state.ctx
    locale = request_locale(request)
    detail = i18n.error_detail(locale, exc.message, exc.params, exc.extra, exc.detail)
    context = _base_context(request, ctx, locale, staff=None, subject=None, csrf_token=None)
    html = templates(request).get_template("error.html").render(**context, status_code=exc.status_code,
                                                                detail=detail, error=exc.error)
    response = HTMLResponse(html, status_code=exc.status_code, headers=exc.headers)
    if isinstance(exc, CsrfRefused) and not request.cookies.get(CSRF_COOKIE):
        # Without the cookie no form can ever pass; hand one out so that reloading the form helps.
        response.set_cookie(CSRF_COOKIE, secrets.token_urlsafe(24), httponly=True, samesite="lax",
                            secure=_cookie_secure(ctx))
    _security_headers(response)
    return response


def login_redirect(request: Request, exc: LoginRequired) -> Response:
    target = "/login" + (f"?next={quote(exc.next_path, safe='')}" if exc.next_path else "")
    response = RedirectResponse(target, status_code=303)
    _security_headers(response)
    return response
