from __future__ import annotations

import httpx

from tests.factories import World


async def test_admin_creates_grid_and_duplicate_is_409(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post("/api/v1/grids", json={"name": "南湖社区"}, headers=world.admin_h)
    assert response.status_code == 201
    assert response.json()["name"] == "南湖社区" and isinstance(response.json()["id"], int)
    again = await client.post("/api/v1/grids", json={"name": "南湖社区"}, headers=world.admin_h)
    assert again.status_code == 409
    assert "already exists" in again.json()["detail"]


async def test_clinician_cannot_create_grids_and_lists_only_their_own(client: httpx.AsyncClient,
                                                                     world: World) -> None:
    assert (await client.post("/api/v1/grids", json={"name": "x"}, headers=world.clin_a)).status_code == 403
    names = [g["name"] for g in (await client.get("/api/v1/grids", headers=world.clin_a)).json()]
    assert names == ["东园社区"]
    all_names = {g["name"] for g in (await client.get("/api/v1/grids", headers=world.admin_h)).json()}
    assert all_names == {"东园社区", "西岭村"}


async def test_blank_grid_name_is_422(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post("/api/v1/grids", json={"name": ""}, headers=world.admin_h)
    assert response.status_code == 422
    assert response.json()["error"] == "invalid"
