"""The area tree: grids as its leaves, staff assigned at any level seeing everything below, `area_id`
narrowing every scoped list, counts rolling up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from server.context import AppContext
from tests.factories import World, enrol, make_user, staff_headers


@dataclass
class Tree:
    district: int
    town: int
    village: int
    community: int
    grid_a: int  # the world's 东园社区 grid, under the community
    grid_b: int  # the world's 西岭村 grid, under the village


async def _area(client: httpx.AsyncClient, h: dict[str, str], name: str, kind: str,
                parent_id: int | None = None) -> int:
    response = await client.post("/api/v1/areas", json={"name": name, "kind": kind, "parent_id": parent_id},
                                 headers=h)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == name and body["kind"] == kind and body["parent_id"] == parent_id
    return int(body["id"])


async def _tree(client: httpx.AsyncClient, world: World) -> Tree:
    """District > (town > village > 西岭村 grid) and (street > community > 东园社区 grid)."""
    h = world.admin_h
    district = await _area(client, h, "示范区", "district")
    town = await _area(client, h, "西岭镇", "town", district)
    village = await _area(client, h, "西岭行政村", "village", town)
    street = await _area(client, h, "东园街道", "street", district)
    community = await _area(client, h, "东园居委会", "community", street)
    for grid, parent in ((world.grid_a.id, community), (world.grid_b.id, village)):
        moved = await client.patch(f"/api/v1/areas/{grid}", json={"parent_id": parent}, headers=h)
        assert moved.status_code == 200, moved.text
        assert moved.json()["parent_id"] == parent
    return Tree(district, town, village, community, world.grid_a.id, world.grid_b.id)


def _find(nodes: list[dict[str, Any]], name: str) -> dict[str, Any]:
    for node in nodes:
        if node["name"] == name:
            return node
        try:
            return _find(node["children"], name)
        except KeyError:
            continue
    raise KeyError(name)


async def test_existing_grids_are_areas_and_a_grid_made_in_the_tree_is_a_grid(client: httpx.AsyncClient,
                                                                             world: World) -> None:
    tree = await _tree(client, world)
    grid = await _area(client, world.admin_h, "西岭三组", "grid", tree.village)
    grids = {g["id"]: g["name"] for g in (await client.get("/api/v1/grids", headers=world.admin_h)).json()}
    assert grids == {world.grid_a.id: "东园社区", world.grid_b.id: "西岭村", grid: "西岭三组"}
    # Enrolment takes the new grid's id as its grid_id.
    enrolled = await client.post("/api/v1/subjects", headers=world.admin_h, json={
        "full_name": "赵新", "phone": "13700000001", "grid_id": grid, "observation_type": "home",
        "reason": "密切接触者"})
    assert enrolled.status_code == 201, enrolled.text
    # A grid-kind area cannot take children; a district cannot lie in a town; a non-grid area is no grid_id.
    for body in ({"name": "x", "kind": "grid", "parent_id": grid}, {"name": "y", "kind": "district",
                                                                    "parent_id": tree.town}):
        refused = await client.post("/api/v1/areas", json=body, headers=world.admin_h)
        assert refused.status_code == 422, refused.text
        assert "cannot lie there" in refused.json()["detail"]
    not_a_grid = await client.post("/api/v1/subjects", headers=world.admin_h, json={
        "full_name": "赵新二", "phone": "13700000002", "grid_id": tree.community, "observation_type": "home",
        "reason": "密切接触者"})
    assert not_a_grid.status_code in (404, 422), not_a_grid.text
    assert (await client.post("/api/v1/areas", json={"name": "z", "kind": "town", "parent_id": 99999},
                              headers=world.admin_h)).status_code == 404
    duplicate = await client.post("/api/v1/areas", json={"name": "西岭镇", "kind": "town",
                                                         "parent_id": tree.district}, headers=world.admin_h)
    assert duplicate.status_code == 409


async def test_the_tree_rolls_people_up_and_a_member_sees_only_below_their_area(
        client: httpx.AsyncClient, world: World, app_ctx: AppContext) -> None:
    tree = await _tree(client, world)
    await enrol(app_ctx, world.grid_a, name="张三", phone="13800000011")
    whole = (await client.get("/api/v1/areas", headers=world.admin_h)).json()
    district = _find(whole, "示范区")
    assert district["under_observation"] == 3
    assert _find(whole, "东园街道")["under_observation"] == 2
    assert _find(whole, "西岭镇")["under_observation"] == 1
    assert [c["name"] for c in _find(whole, "东园居委会")["children"]] == ["东园社区"]

    town_doctor = await make_user(app_ctx, area_ids=[tree.town], username="town-doc")
    h = staff_headers(app_ctx, town_doctor)
    mine = (await client.get("/api/v1/areas", headers=h)).json()
    assert [n["name"] for n in mine] == ["西岭镇"]
    assert _find(mine, "西岭村")["under_observation"] == 1
    roster = (await client.get("/api/v1/roster", headers=h)).json()
    assert [i["full_name"] for i in roster["items"]] == ["李华"]
    assert (await client.get(f"/api/v1/subjects/{world.subject_a.id}", headers=h)).status_code == 404
    assert (await client.get(f"/api/v1/subjects/{world.subject_b.id}", headers=h)).status_code == 200
    me = (await client.get("/api/v1/users/me", headers=h)).json()
    assert me["area_ids"] == [tree.town] and me["grid_ids"] == [world.grid_b.id]


async def test_area_id_narrows_the_roster_alerts_and_exports_and_a_foreign_area_is_404(
        client: httpx.AsyncClient, world: World, app_ctx: AppContext) -> None:
    tree = await _tree(client, world)
    h = world.admin_h
    by_area = (await client.get(f"/api/v1/roster?area_id={tree.district}", headers=h)).json()
    assert by_area["counts"]["total"] == 2
    town = (await client.get(f"/api/v1/roster?area_id={tree.town}", headers=h)).json()
    assert [i["full_name"] for i in town["items"]] == ["李华"] and town["counts"]["total"] == 1
    for path in ("/api/v1/alerts", "/api/v1/declarations", "/api/v1/households", "/api/v1/census/progress"):
        assert (await client.get(f"{path}?area_id={tree.community}", headers=h)).status_code == 200, path
    export = await client.get(f"/api/v1/exports/roster?area_id={tree.community}&lang=en", headers=h)
    assert export.status_code == 200
    lines = export.content.decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 2 and "王小明" in lines[1]
    # A clinician of one grid asking for the other's area, or for an area above theirs: not theirs.
    for area in (tree.town, tree.district, 99999):
        refused = await client.get(f"/api/v1/roster?area_id={area}", headers=world.clin_a)
        assert refused.status_code == 404, (area, refused.text)
    assert (await client.get(f"/api/v1/roster?area_id={tree.community}", headers=world.clin_a)).status_code == 404
    assert (await client.get(f"/api/v1/roster?area_id={world.grid_a.id}",
                             headers=world.clin_a)).json()["counts"]["total"] == 1


async def test_moving_an_area_moves_what_its_staff_see_and_a_cycle_is_refused(
        client: httpx.AsyncClient, world: World, app_ctx: AppContext) -> None:
    tree = await _tree(client, world)
    village_worker = await make_user(app_ctx, role="grid_worker", area_ids=[tree.village], username="w-village")
    h = staff_headers(app_ctx, village_worker)
    assert [i["full_name"] for i in (await client.get("/api/v1/roster", headers=h)).json()["items"]] == ["李华"]
    # The 东园社区 grid is moved into the village: its people are the village's at once.
    moved = await client.patch(f"/api/v1/areas/{world.grid_a.id}", json={"parent_id": tree.village},
                               headers=world.admin_h)
    assert moved.status_code == 200
    names = sorted(i["full_name"] for i in (await client.get("/api/v1/roster", headers=h)).json()["items"])
    assert names == ["李华", "王小明"]
    cycle = await client.patch(f"/api/v1/areas/{tree.town}", json={"parent_id": tree.village}, headers=world.admin_h)
    assert cycle.status_code == 422
    assert (await client.patch(f"/api/v1/areas/{tree.town}", json={"parent_id": None},
                               headers=world.clin_a)).status_code == 403
    tree_now = (await client.get("/api/v1/areas", headers=world.admin_h)).json()
    assert _find(tree_now, "西岭行政村")["under_observation"] == 2
    assert _find(tree_now, "东园街道")["under_observation"] == 0


async def test_the_brief_has_one_row_per_child_area_summing_its_grids(client: httpx.AsyncClient,
                                                                      world: World) -> None:
    tree = await _tree(client, world)
    brief = (await client.get(f"/api/v1/brief?area_id={tree.district}", headers=world.admin_h)).json()
    rows = {r["name"]: r["values"]["home"] for r in brief["rows"]}
    assert rows == {"东园街道": 1, "西岭镇": 1}
    assert brief["total"]["values"]["home"] == 2
    top = (await client.get("/api/v1/brief", headers=world.admin_h)).json()
    assert [r["name"] for r in top["rows"]] == ["示范区"] and top["total"]["values"]["home"] == 2
