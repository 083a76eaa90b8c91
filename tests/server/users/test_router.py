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
