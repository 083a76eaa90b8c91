from __future__ import annotations

import re

import httpx
import pytest
from argon2 import PasswordHasher

from server.auth import security
from server.context import AppContext
from server.deps import STAFF_COOKIE, SUBJECT_COOKIE
from server.models import User
from tests.factories import Enrolled

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ``world`` hashes three passwords; at production cost that is most of a page test's time.
    Verification reads the cost from the hash, so the login tests still exercise the real path."""
    monkeypatch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def sign_in_staff(client: httpx.AsyncClient, ctx: AppContext, user: User) -> None:
    """Sets the session cookie the login page would set (the login itself is tested once, for real)."""
    client.cookies.set(STAFF_COOKIE, ctx.tokens.issue("staff", str(user.id), user.token_version))


def sign_in_subject(client: httpx.AsyncClient, ctx: AppContext, enrolled: Enrolled) -> None:
    token = ctx.tokens.issue("subject", str(enrolled.id), enrolled.subject.access_code_version)
    client.cookies.set(SUBJECT_COOKIE, token)


async def csrf_token(client: httpx.AsyncClient, path: str) -> str:
    response = await client.get(path)
    match = CSRF_RE.search(response.text)
    assert match, f"no CSRF token on {path} ({response.status_code})"
    return match[1]


async def post_form(client: httpx.AsyncClient, page: str, action: str, data: dict[str, object]) -> httpx.Response:
    """Submit a form the way a browser does: load the page that holds it, then post with its token."""
    token = await csrf_token(client, page)
    return await client.post(action, data={"csrf_token": token, **data})  # type: ignore[dict-item]


def text(response: httpx.Response) -> str:
    """The page's text without tags, for assertions that read like what a person sees."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.text))
