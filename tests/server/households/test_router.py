"""Households through the API: a link like a personal one, one member reporting for everyone, all or
nothing, and nobody outside the household."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import func, select

from server.auth.security import hash_access_code
from server.context import AppContext
from server.models import Reading
from server.models.households import Household
from tests.factories import World, enrol


async def _household(client: httpx.AsyncClient, world: World, *, headers: dict[str, str] | None = None,
                     area_id: int | None = None) -> dict[str, object]:
    response = await client.post("/api/v1/households", headers=headers or world.admin_h,
                                 json={"address": "东园社区 3 栋 2 单元 101", "area_id": area_id or world.grid_a.id})
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def _join(client: httpx.AsyncClient, world: World, subject_id: uuid.UUID, household_id: object) -> None:
    response = await client.patch(f"/api/v1/subjects/{subject_id}", headers=world.admin_h,
                                  json={"household_id": household_id})
    assert response.status_code == 200, response.text


async def _token(client: httpx.AsyncClient, code: object) -> dict[str, str]:
    response = await client.post("/api/v1/auth/household-token", json={"access_code": code})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _readings(app_ctx: AppContext) -> int:
    async with app_ctx.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Reading)) or 0)


async def test_a_household_link_is_made_and_stored_like_a_personal_link(
    client: httpx.AsyncClient, world: World, app_ctx: AppContext
) -> None:
    body = await _household(client, world)
    code = str(body["access_code"])
    assert body["access_url"] == f"http://homewatch.test/h/{code}"
    assert body["area_id"] == world.grid_a.id and body["members"] == []
    assert len(code) >= 22  # 128 bits, URL-safe, as personal links
    async with app_ctx.db.session() as session:
        household = await session.get(Household, uuid.UUID(str(body["id"])))
        assert household is not None
        assert household.access_code_hash == hash_access_code(code)
        assert code not in household.access_code_hash
    signed_in = await client.post("/api/v1/auth/household-token", json={"access_code": code})
    assert signed_in.status_code == 200
    assert signed_in.json()["role"] == "household" and signed_in.json()["household_id"] == body["id"]
    wrong = await client.post("/api/v1/auth/household-token", json={"access_code": "not-the-code-at-all"})
    assert wrong.status_code == 401


async def test_one_member_reports_for_everyone_with_source_household(
    client: httpx.AsyncClient, world: World, app_ctx: AppContext
) -> None:
    body = await _household(client, world)
    grandma = await enrol(app_ctx, world.grid_a, name="王奶奶", phone="13800138001")
    await _join(client, world, world.subject_a.id, body["id"])
    await _join(client, world, grandma.id, body["id"])
    headers = await _token(client, body["access_code"])
    reading_id = str(uuid.uuid4())
    response = await client.post(f"/api/v1/households/{body['id']}/readings", headers=headers, json={"readings": [
        {"subject_id": str(world.subject_a.id), "id": reading_id, "temperature_c": "36.6"},
        {"subject_id": str(grandma.id), "temperature_c": 38.0, "symptoms": ["cough"]},
    ]})
    assert response.status_code == 201, response.text
    stored = response.json()["readings"]
    assert [r["source"] for r in stored] == ["household", "household"]
    assert stored[0]["id"] == reading_id and stored[0]["temperature_c"] == 36.6
    assert stored[1]["classification"] == "fever"
    # The same path as a person's own reading: the fever opened an alert for the grid's clinician.
    alerts = (await client.get("/api/v1/alerts", headers=world.clin_a)).json()
    assert [a["subject_id"] for a in alerts] == [str(grandma.id)]
    # A retried batch stores nothing twice.
    again = await client.post(f"/api/v1/households/{body['id']}/readings", headers=headers, json={"readings": [
        {"subject_id": str(world.subject_a.id), "id": reading_id, "temperature_c": "36.6"}]})
    assert again.status_code == 200 and again.json()["readings"][0]["id"] == reading_id
    assert await _readings(app_ctx) == 2
    members = (await client.get(f"/api/v1/households/{body['id']}", headers=world.clin_a)).json()["members"]
    assert {m["full_name"] for m in members} == {"王小明", "王奶奶"}


async def test_someone_outside_the_household_fails_the_whole_batch(
    client: httpx.AsyncClient, world: World, app_ctx: AppContext
) -> None:
    body = await _household(client, world)
    await _join(client, world, world.subject_a.id, body["id"])
    neighbour = await enrol(app_ctx, world.grid_a, name="赵邻居", phone="13800138002")
    headers = await _token(client, body["access_code"])
    response = await client.post(f"/api/v1/households/{body['id']}/readings", headers=headers, json={"readings": [
        {"subject_id": str(world.subject_a.id), "temperature_c": 36.5},
        {"subject_id": str(neighbour.id), "temperature_c": 36.5},
    ]})
    assert response.status_code == 404
    assert await _readings(app_ctx) == 0


async def test_an_implausible_value_stores_nothing_of_the_batch(
    client: httpx.AsyncClient, world: World, app_ctx: AppContext
) -> None:
    body = await _household(client, world)
    grandma = await enrol(app_ctx, world.grid_a, name="王奶奶", phone="13800138001")
    await _join(client, world, world.subject_a.id, body["id"])
    await _join(client, world, grandma.id, body["id"])
    headers = await _token(client, body["access_code"])
    response = await client.post(f"/api/v1/households/{body['id']}/readings", headers=headers, json={"readings": [
        {"subject_id": str(world.subject_a.id), "temperature_c": 36.5},
        {"subject_id": str(grandma.id), "temperature_c": 48},
    ]})
    assert response.status_code == 422 and response.json()["code"] == "implausible_temperature"
    assert await _readings(app_ctx) == 0


async def test_another_households_token_and_other_tokens_are_refused(
    client: httpx.AsyncClient, world: World, app_ctx: AppContext
) -> None:
    ours = await _household(client, world)
    theirs = await _household(client, world, area_id=world.grid_b.id)
    await _join(client, world, world.subject_a.id, ours["id"])
    reading = {"readings": [{"subject_id": str(world.subject_a.id), "temperature_c": 36.5}]}
    other = await _token(client, theirs["access_code"])
    assert (await client.post(f"/api/v1/households/{ours['id']}/readings", headers=other,
                              json=reading)).status_code == 404
    for headers in (world.subj_a, world.clin_a, world.admin_h, {}):
        response = await client.post(f"/api/v1/households/{ours['id']}/readings", headers=headers, json=reading)
        assert response.status_code == 401
    assert await _readings(app_ctx) == 0
    # A household's token opens nothing else.
    household = await _token(client, ours["access_code"])
    assert (await client.get("/api/v1/me", headers=household)).status_code == 401
    assert (await client.get("/api/v1/roster", headers=household)).status_code == 401


async def test_a_reissued_link_ends_the_old_one_and_its_tokens(
    client: httpx.AsyncClient, world: World, app_ctx: AppContext
) -> None:
    body = await _household(client, world)
    await _join(client, world, world.subject_a.id, body["id"])
    old = await _token(client, body["access_code"])
    new = await client.post(f"/api/v1/households/{body['id']}/access-code", headers=world.clin_a)
    assert new.status_code == 200
    reading = {"readings": [{"subject_id": str(world.subject_a.id), "temperature_c": 36.5}]}
    assert (await client.post(f"/api/v1/households/{body['id']}/readings", headers=old,
                              json=reading)).status_code == 401
    assert (await client.post("/api/v1/auth/household-token",
                              json={"access_code": body["access_code"]})).status_code == 401
    fresh = await _token(client, new.json()["access_code"])
    assert (await client.post(f"/api/v1/households/{body['id']}/readings", headers=fresh,
                              json=reading)).status_code == 201
    assert (await client.post("/api/v1/auth/logout", headers=fresh)).status_code == 204
    assert (await client.post(f"/api/v1/households/{body['id']}/readings", headers=fresh,
                              json=reading)).status_code == 401


async def test_households_per_role_and_foreign_area(client: httpx.AsyncClient, world: World) -> None:
    # A clinician makes households in their own grid only; another grid reads like no grid at all.
    mine = await _household(client, world, headers=world.clin_a)
    foreign = await client.post("/api/v1/households", headers=world.clin_a,
                                json={"address": "西岭村 5 号", "area_id": world.grid_b.id})
    assert foreign.status_code == 422
    missing = await client.post("/api/v1/households", headers=world.clin_a,
                                json={"address": "西岭村 5 号", "area_id": 999999})
    assert missing.status_code == 422
    unknown_detail = missing.json()["detail"].replace("999999", "?")
    assert unknown_detail == foreign.json()["detail"].replace(str(world.grid_b.id), "?")
    assert (await client.post("/api/v1/households", headers=world.subj_a,
                              json={"address": "x", "area_id": world.grid_a.id})).status_code == 401
    assert (await client.get(f"/api/v1/households/{mine['id']}", headers=world.clin_b)).status_code == 404
    assert (await client.post(f"/api/v1/households/{mine['id']}/access-code",
                              headers=world.clin_b)).status_code == 404
    assert [h["id"] for h in (await client.get("/api/v1/households", headers=world.clin_b)).json()] == []
    assert [h["id"] for h in (await client.get("/api/v1/households", headers=world.admin_h)).json()] == [mine["id"]]
    assert [h["id"] for h in (await client.get(f"/api/v1/households?area_id={world.grid_a.id}",
                                               headers=world.clin_a)).json()] == [mine["id"]]


async def test_people_join_a_household_of_their_own_grid_only(
    client: httpx.AsyncClient, world: World, app_ctx: AppContext
) -> None:
    body = await _household(client, world)
    # A clinician of the grid may put a person in a household, as they correct an address.
    joined = await client.patch(f"/api/v1/subjects/{world.subject_a.id}", headers=world.clin_a,
                                json={"household_id": body["id"]})
    assert joined.status_code == 200 and joined.json()["household_id"] == body["id"]
    elsewhere = await client.patch(f"/api/v1/subjects/{world.subject_b.id}", headers=world.admin_h,
                                   json={"household_id": body["id"]})
    assert elsewhere.status_code == 422
    enrolled = await client.post("/api/v1/subjects", headers=world.admin_h, json={
        "full_name": "王爷爷", "phone": "13800138003", "grid_id": world.grid_a.id, "observation_type": "home",
        "reason": "家庭成员", "household_id": body["id"]})
    assert enrolled.status_code == 201 and enrolled.json()["household_id"] == body["id"]
    wrong_grid = await client.post("/api/v1/subjects", headers=world.admin_h, json={
        "full_name": "李奶奶", "phone": "13800138004", "grid_id": world.grid_b.id, "observation_type": "home",
        "reason": "家庭成员", "household_id": body["id"]})
    assert wrong_grid.status_code == 422
    left = await client.patch(f"/api/v1/subjects/{world.subject_a.id}", headers=world.clin_a,
                              json={"household_id": None})
    assert left.status_code == 200 and left.json()["household_id"] is None


async def test_a_census_list_names_each_persons_household(
    client: httpx.AsyncClient, world: World, app_ctx: AppContext
) -> None:
    body = await _household(client, world)
    csv = ("姓名,手机号,网格,原因,户号\n"
           f"张三,13700137000,东园社区,返乡,{body['id']}\n"
           f"李四,13700137001,西岭村,返乡,{body['id']}\n").encode()
    refused = await client.post("/api/v1/subjects/import", headers=world.admin_h,
                                files={"file": ("list.csv", csv, "text/csv")})
    assert refused.status_code == 422
    assert [(e["line"], e["code"]) for e in refused.json()["errors"]] == [(3, "unknown_household")]
    csv = ("姓名,手机号,网格,原因,户号\n"
           f"张三,13700137000,东园社区,返乡,{str(body['id']).upper()}\n"
           "李四,13700137001,西岭村,返乡,\n").encode()
    imported = await client.post("/api/v1/subjects/import", headers=world.admin_h,
                                 files={"file": ("list.csv", csv, "text/csv")})
    assert imported.status_code == 201, imported.text
    members = (await client.get(f"/api/v1/households/{body['id']}", headers=world.admin_h)).json()["members"]
    assert [m["full_name"] for m in members] == ["张三"]
