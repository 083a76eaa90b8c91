from __future__ import annotations

import httpx

from server.context import AppContext
from tests.factories import PASSWORD, World


async def test_staff_token_signs_in_with_username_and_password(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post("/api/v1/auth/token", data={"username": "doc-a", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["role"] == "clinician"
    me = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["username"] == "doc-a"
    assert me.json()["grid_ids"] == [world.grid_a.id]


async def test_wrong_password_is_401_with_readable_detail(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post("/api/v1/auth/token", data={"username": "doc-a", "password": "nope-nope"})
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized", "detail": "Wrong username or password."}


async def test_repeated_failures_are_throttled_even_with_the_right_password(
    client: httpx.AsyncClient, world: World, app_ctx: AppContext
) -> None:
    for _ in range(app_ctx.settings.login_free_failures):
        assert (await client.post("/api/v1/auth/token", data={"username": "doc-a", "password": "bad-guess"})
                ).status_code == 401
    response = await client.post("/api/v1/auth/token", data={"username": "doc-a", "password": PASSWORD})
    assert response.status_code == 429
    assert "Retry-After" in response.headers
    assert "Too many failed sign-in attempts" in response.json()["detail"]


async def test_subject_token_from_access_code(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post("/api/v1/auth/subject-token", json={"access_code": world.subject_a.code})
    assert response.status_code == 200
    body = response.json()
    assert body["role"] == "subject" and body["subject_id"] == str(world.subject_a.id)
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["full_name"] == "王小明"


async def test_unknown_access_code_is_401(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post("/api/v1/auth/subject-token", json={"access_code": "x" * 22})
    assert response.status_code == 401
    assert "not valid" in response.json()["detail"]


async def test_reissued_code_revokes_old_code_and_old_tokens(client: httpx.AsyncClient, world: World) -> None:
    old_headers = world.subj_a
    response = await client.post(f"/api/v1/subjects/{world.subject_a.id}/access-code", headers=world.admin_h)
    assert response.status_code == 200
    new_code = response.json()["access_code"]
    assert response.json()["access_url"] == f"http://homewatch.test/s/{new_code}"
    assert (await client.post("/api/v1/auth/subject-token", json={"access_code": world.subject_a.code})
            ).status_code == 401
    assert (await client.get("/api/v1/me", headers=old_headers)).status_code == 401
    assert (await client.post("/api/v1/auth/subject-token", json={"access_code": new_code})).status_code == 200


async def test_tampered_or_missing_token_is_401(client: httpx.AsyncClient, world: World) -> None:
    assert (await client.get("/api/v1/roster")).status_code == 401
    token = world.clin_a["Authorization"]
    # Change a character in the middle of the signature: the last one carries bits base64 ignores.
    i = len(token) - 10
    bad = {"Authorization": token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]}
    assert (await client.get("/api/v1/roster", headers=bad)).status_code == 401


async def test_subject_token_cannot_use_staff_routes(client: httpx.AsyncClient, world: World) -> None:
    assert (await client.get("/api/v1/roster", headers=world.subj_a)).status_code == 401
    assert (await client.get(f"/api/v1/subjects/{world.subject_a.id}", headers=world.subj_a)).status_code == 401


async def test_whoami_tells_who_a_token_belongs_to(client: httpx.AsyncClient, world: World) -> None:
    staff = (await client.get("/api/v1/auth/whoami", headers=world.clin_a)).json()
    subject = (await client.get("/api/v1/auth/whoami", headers=world.subj_b)).json()
    assert staff == {"role": "clinician", "id": str(world.clinician_a.id)}
    assert subject == {"role": "subject", "id": str(world.subject_b.id)}
