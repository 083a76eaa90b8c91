"""One authenticator for the API, the pages, the event stream and the check-in viewers: a token is
accepted, or refused, the same way on each."""

from __future__ import annotations

import uuid

import httpx

from server.auth.callers import STAFF_COOKIE, SUBJECT_COOKIE
from server.context import AppContext
from tests.factories import World
from tests.server.pages.conftest import post_form


def _token(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


async def _surfaces(client: httpx.AsyncClient, token: str, *, stream: bool) -> dict[str, int]:
    """What a staff token opens: the API (bearer), a page (cookie), a check-in (a missing one: 404 when
    signed in, 401 when not) and, when it is refused, the event stream (an accepted one never ends)."""
    bearer = {"Authorization": f"Bearer {token}"}
    client.cookies.set(STAFF_COOKIE, token)
    try:
        opened = {
            "api": (await client.get("/api/v1/roster", headers=bearer)).status_code,
            "page": (await client.get("/roster")).status_code,
            "checkin": (await client.get(f"/api/v1/checkins/{uuid.uuid4()}")).status_code,
        }
        if stream:
            opened["events"] = (await client.get("/api/v1/events")).status_code
        return opened
    finally:
        client.cookies.delete(STAFF_COOKIE)


async def test_a_deactivated_account_is_refused_everywhere_at_once(client: httpx.AsyncClient, world: World) -> None:
    token = _token(world.clin_a)
    assert await _surfaces(client, token, stream=False) == {"api": 200, "page": 200, "checkin": 404}
    response = await client.patch(f"/api/v1/users/{world.clinician_a.id}", headers=world.admin_h,
                                  json={"is_active": False})
    assert response.status_code == 200
    assert await _surfaces(client, token, stream=True) == {"api": 401, "page": 303, "checkin": 401, "events": 401}


async def test_roles_are_refused_by_the_routes_dependency_on_pages_and_api(
    client: httpx.AsyncClient, app_ctx: AppContext, world: World
) -> None:
    client.cookies.set(STAFF_COOKIE, _token(world.admin_h))
    # Ringing a person is a clinician's act, on the page as in the API.
    assert (await client.get(f"/subjects/{world.subject_a.id}/call")).status_code == 403
    assert (await client.post(f"/api/v1/subjects/{world.subject_a.id}/call", headers=world.admin_h)).status_code == 403
    client.cookies.set(STAFF_COOKIE, _token(world.clin_a))
    # Releasing is an admin's: the page's form is refused before it is read.
    response = await post_form(client, f"/subjects/{world.subject_a.id}", f"/subjects/{world.subject_a.id}/release",
                               {"note": "done"})
    assert response.status_code == 403
    assert (await client.post(f"/api/v1/subjects/{world.subject_a.id}/release", headers=world.clin_a,
                              json={"note": "done"})).status_code == 403


async def test_a_person_sees_their_own_check_in_pictures_by_cookie_or_token(
    client: httpx.AsyncClient, world: World
) -> None:
    missing = f"/api/v1/checkins/{uuid.uuid4()}"
    assert (await client.get(missing, headers=world.subj_a)).status_code == 404
    client.cookies.set(SUBJECT_COOKIE, _token(world.subj_a))
    assert (await client.get(missing)).status_code == 404
    client.cookies.set(SUBJECT_COOKIE, "forged")
    assert (await client.get(missing)).status_code == 401
