from __future__ import annotations

import httpx

from tests.factories import World


async def test_admin_creates_clinician_who_can_sign_in(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post(
        "/api/v1/users",
        json={"username": "nurse1", "password": "a-long-password", "role": "clinician",
              "grid_ids": [world.grid_a.id, world.grid_b.id]},
        headers=world.admin_h,
    )
    assert response.status_code == 201
    body = response.json()
    assert body["role"] == "clinician" and sorted(body["grid_ids"]) == sorted([world.grid_a.id, world.grid_b.id])
    login = await client.post("/api/v1/auth/token", data={"username": "nurse1", "password": "a-long-password"})
    assert login.status_code == 200


async def test_user_creation_refuses_unknown_grid_taken_name_bad_role(client: httpx.AsyncClient,
                                                                     world: World) -> None:
    base = {"password": "a-long-password", "role": "clinician"}
    unknown_grid = await client.post("/api/v1/users", json={**base, "username": "n2", "grid_ids": [999]},
                                     headers=world.admin_h)
    assert unknown_grid.status_code == 422 and "999" in unknown_grid.json()["detail"]
    taken = await client.post("/api/v1/users", json={**base, "username": "doc-a"}, headers=world.admin_h)
    assert taken.status_code == 409
    bad_role = await client.post("/api/v1/users", json={**base, "username": "n3", "role": "root"},
                                 headers=world.admin_h)
    assert bad_role.status_code == 422
    users = {u["username"] for u in (await client.get("/api/v1/users", headers=world.admin_h)).json()}
    assert "n2" not in users and "n3" not in users


async def test_clinician_cannot_create_or_list_users(client: httpx.AsyncClient, world: World) -> None:
    body = {"username": "x1", "password": "a-long-password", "role": "admin"}
    assert (await client.post("/api/v1/users", json=body, headers=world.clin_a)).status_code == 403
    assert (await client.get("/api/v1/users", headers=world.clin_a)).status_code == 403


async def test_deactivated_account_is_signed_out_and_cannot_sign_in(client: httpx.AsyncClient, world: World) -> None:
    from tests.factories import PASSWORD

    headers = world.clin_a
    assert (await client.get("/api/v1/roster", headers=headers)).status_code == 200
    response = await client.patch(f"/api/v1/users/{world.clinician_a.id}", json={"is_active": False},
                                  headers=world.admin_h)
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert (await client.get("/api/v1/roster", headers=headers)).status_code == 401
    login = await client.post("/api/v1/auth/token", data={"username": "doc-a", "password": PASSWORD})
    assert login.status_code == 401
    await client.patch(f"/api/v1/users/{world.clinician_a.id}", json={"is_active": True}, headers=world.admin_h)
    assert (await client.post("/api/v1/auth/token", data={"username": "doc-a", "password": PASSWORD})
            ).status_code == 200
    audit = (await client.get("/api/v1/audit", params={"action": "user.updated"}, headers=world.admin_h)).json()
    assert [e["detail"]["is_active"] for e in audit] == [True, False]


async def test_password_reset_and_grid_change(client: httpx.AsyncClient, world: World) -> None:
    old_headers = world.clin_a
    response = await client.patch(f"/api/v1/users/{world.clinician_a.id}", headers=world.admin_h,
                                  json={"password": "a-brand-new-pw", "grid_ids": [world.grid_b.id]})
    assert response.status_code == 200 and response.json()["grid_ids"] == [world.grid_b.id]
    assert (await client.get("/api/v1/roster", headers=old_headers)).status_code == 401
    token = (await client.post("/api/v1/auth/token", data={"username": "doc-a", "password": "a-brand-new-pw"})
             ).json()["access_token"]
    roster = (await client.get("/api/v1/roster", headers={"Authorization": f"Bearer {token}"})).json()
    assert [i["full_name"] for i in roster["items"]] == ["李华"]


async def test_account_changes_are_checked(client: httpx.AsyncClient, world: World) -> None:
    own = await client.patch(f"/api/v1/users/{world.admin.id}", json={"is_active": False}, headers=world.admin_h)
    assert own.status_code == 409
    short = await client.patch(f"/api/v1/users/{world.clinician_a.id}", json={"password": "short"},
                               headers=world.admin_h)
    assert short.status_code == 422
    unknown = await client.patch("/api/v1/users/9999", json={"is_active": False}, headers=world.admin_h)
    assert unknown.status_code == 404
    not_admin = await client.patch(f"/api/v1/users/{world.clinician_b.id}", json={"is_active": False},
                                   headers=world.clin_a)
    assert not_admin.status_code == 403
