"""Grid workers and observers, the daily round, staff entry with its source, and visits that found nobody."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx

from server.context import AppContext
from tests.conftest import Clock
from tests.factories import World, enrol, make_user, staff_headers


async def _worker(app_ctx: AppContext, world: World) -> dict[str, str]:
    return staff_headers(app_ctx, await make_user(app_ctx, role="grid_worker", grids_=[world.grid_a],
                                                  username="worker-a"))


async def _round_names(client: httpx.AsyncClient, h: dict[str, str]) -> list[str]:
    return [p["full_name"] for s in (await client.get("/api/v1/round", headers=h)).json()["stops"] for p in s["people"]]


async def test_the_round_lists_who_still_needs_a_reading_by_door(client: httpx.AsyncClient, world: World,
                                                                 app_ctx: AppContext) -> None:
    h = await _worker(app_ctx, world)
    start = (app_ctx.now() - timedelta(days=3)).date()
    household = await client.post("/api/v1/households", json={"address": "东园路 1 号 2 单元 301",
                                                               "area_id": world.grid_a.id}, headers=world.admin_h)
    assert household.status_code == 201, household.text
    hid = household.json()["id"]
    for name, phone in (("刘一", "13800000101"), ("刘二", "13800000102")):
        person = await enrol(app_ctx, world.grid_a, name=name, phone=phone, start_date=start)
        assert (await client.patch(f"/api/v1/subjects/{person.id}", json={"household_id": hid},
                                   headers=world.admin_h)).status_code == 200
    await enrol(app_ctx, world.grid_b, name="外网格", phone="13800000103", start_date=start)
    body = (await client.get("/api/v1/round", headers=h)).json()
    doors = {stop["address"]: [p["full_name"] for p in stop["people"]] for stop in body["stops"]}
    assert doors["东园路 1 号 2 单元 301"] == ["刘一", "刘二"]
    assert all("外网格" not in names for names in doors.values())
    assert all(p["status"] in ("due", "missed") for s in body["stops"] for p in s["people"])
    assert body["total"] == sum(len(s["people"]) for s in body["stops"])


async def test_a_grid_worker_enters_a_visit_reading_once_and_the_person_leaves_the_round(
        client: httpx.AsyncClient, world: World, app_ctx: AppContext) -> None:
    h = await _worker(app_ctx, world)
    person = await enrol(app_ctx, world.grid_a, name="陈访", phone="13800000201",
                         start_date=(app_ctx.now() - timedelta(days=3)).date())
    names = await _round_names(client, h)
    assert "陈访" in names
    reading_id = str(uuid.uuid4())
    first = await client.post(f"/api/v1/subjects/{person.id}/readings", headers=h,
                              json={"id": reading_id, "temperature_c": 36.6, "source": "visit"})
    assert first.status_code == 201, first.text
    assert first.json()["source"] == "visit"
    again = await client.post(f"/api/v1/subjects/{person.id}/readings", headers=h,
                              json={"id": reading_id, "temperature_c": 36.6, "source": "visit"})
    assert again.status_code == 200 and again.json()["id"] == reading_id
    readings = (await client.get(f"/api/v1/subjects/{person.id}/readings", headers=h)).json()
    assert [r["id"] for r in readings] == [reading_id]
    names = await _round_names(client, h)
    assert "陈访" not in names
    # A grid worker's reading was taken at the door or on the phone, never "by a clinician".
    refused = await client.post(f"/api/v1/subjects/{person.id}/readings", headers=h,
                                json={"temperature_c": 36.6, "source": "clinician"})
    assert refused.status_code == 422
    phone = await client.post(f"/api/v1/subjects/{person.id}/readings", headers=world.clin_a,
                              json={"temperature_c": 36.7, "source": "phone"})
    assert phone.status_code == 201 and phone.json()["source"] == "phone"
    # Another grid's person is not theirs: 404, nothing stored.
    foreign = await client.post(f"/api/v1/subjects/{world.subject_b.id}/readings", headers=h,
                                json={"temperature_c": 36.6, "source": "visit"})
    assert foreign.status_code == 404
    assert (await client.get(f"/api/v1/subjects/{world.subject_b.id}/readings",
                             headers=world.admin_h)).json() == []


async def test_a_visit_that_found_nobody_is_kept_once_and_shown_on_the_round(
        client: httpx.AsyncClient, world: World, app_ctx: AppContext) -> None:
    h = await _worker(app_ctx, world)
    person = await enrol(app_ctx, world.grid_a, name="周空", phone="13800000301",
                         start_date=(app_ctx.now() - timedelta(days=3)).date())
    attempt = {"id": str(uuid.uuid4()), "kind": "visit", "outcome": "not_home"}
    first = await client.post(f"/api/v1/subjects/{person.id}/contact-attempts", json=attempt, headers=h)
    assert first.status_code == 201, first.text
    assert (await client.post(f"/api/v1/subjects/{person.id}/contact-attempts", json=attempt,
                              headers=h)).status_code == 200
    listed = (await client.get(f"/api/v1/subjects/{person.id}/contact-attempts", headers=h)).json()
    assert [a["id"] for a in listed] == [attempt["id"]]
    shown = [p for s in (await client.get("/api/v1/round", headers=h)).json()["stops"] for p in s["people"]
             if p["full_name"] == "周空"]
    assert shown[0]["last_attempt"]["outcome"] == "not_home"
    bad = await client.post(f"/api/v1/subjects/{person.id}/contact-attempts", json={"kind": "visit",
                                                                                   "outcome": "gone"}, headers=h)
    assert bad.status_code == 422
    assert (await client.post(f"/api/v1/subjects/{world.subject_b.id}/contact-attempts",
                              json={"kind": "phone", "outcome": "no_answer"}, headers=h)).status_code == 404


async def test_a_grid_worker_cannot_release_audit_watch_or_export(client: httpx.AsyncClient, world: World,
                                                                  app_ctx: AppContext) -> None:
    h = await _worker(app_ctx, world)
    sid = world.subject_a.id
    assert (await client.get(f"/api/v1/subjects/{sid}", headers=h)).status_code == 200
    record = (await client.get(f"/api/v1/subjects/{sid}", headers=h)).json()
    assert "id_number" not in record
    assert (await client.get("/api/v1/declarations", headers=h)).status_code == 200
    for method, path in (("POST", f"/api/v1/subjects/{sid}/release"), ("GET", "/api/v1/audit"),
                         ("GET", "/api/v1/checkins"), ("GET", "/api/v1/alerts"),
                         ("GET", "/api/v1/exports/roster"), ("POST", f"/api/v1/subjects/{sid}/call"),
                         ("GET", "/api/v1/users"), ("POST", "/api/v1/areas")):
        response = await client.request(method, path, headers=h, json={})
        assert response.status_code == 403, (path, response.text)


async def test_an_observer_sees_counts_and_no_person(client: httpx.AsyncClient, world: World,
                                                     app_ctx: AppContext) -> None:
    observer = await make_user(app_ctx, role="observer", grids_=[world.grid_a, world.grid_b], username="command")
    h = staff_headers(app_ctx, observer)
    brief = (await client.get("/api/v1/brief", headers=h)).json()
    assert brief["total"]["values"]["home"] == 2
    assert (await client.get("/api/v1/areas", headers=h)).status_code == 200
    assert (await client.get("/api/v1/census/progress", headers=h)).status_code == 200
    assert (await client.get("/api/v1/users/me", headers=h)).json()["role"] == "observer"
    for path in ("/api/v1/roster", f"/api/v1/subjects/{world.subject_a.id}", "/api/v1/round",
                 f"/api/v1/subjects/{world.subject_a.id}/readings", "/api/v1/declarations", "/api/v1/households",
                 "/api/v1/alerts", "/api/v1/exports/roster", "/fhir/Patient", "/api/v1/events"):
        response = await client.get(path, headers=h)
        assert response.status_code == 403, (path, response.text)
    assert (await client.post(f"/api/v1/subjects/{world.subject_a.id}/readings", headers=h,
                              json={"temperature_c": 36.6})).status_code == 403


async def test_staff_accounts_take_the_new_roles_and_areas(client: httpx.AsyncClient, world: World) -> None:
    created = await client.post("/api/v1/users", headers=world.admin_h, json={
        "username": "gw1", "password": "long enough pw", "role": "grid_worker", "area_ids": [world.grid_a.id]})
    assert created.status_code == 201, created.text
    assert created.json()["role"] == "grid_worker" and created.json()["area_ids"] == [world.grid_a.id]
    unknown = await client.post("/api/v1/users", headers=world.admin_h, json={
        "username": "gw2", "password": "long enough pw", "role": "grid_worker", "area_ids": [99999]})
    assert unknown.status_code == 422 and "99999" in unknown.json()["detail"]


async def test_a_late_reading_after_the_window_closed_takes_the_person_off_the_round(
        client: httpx.AsyncClient, world: World, app_ctx: AppContext, clock: Clock) -> None:
    # 21:30 in Shanghai: the evening window closed half an hour ago, the morning one is hours away.
    clock.now = datetime(2026, 3, 10, 13, 30, tzinfo=UTC)
    h = await _worker(app_ctx, world)
    person = await enrol(app_ctx, world.grid_a, name="吴晚归", phone="13800000501",
                         start_date=(clock.now - timedelta(days=3)).date(), now=clock.now - timedelta(days=3))
    before = [p for s in (await client.get("/api/v1/round", headers=h)).json()["stops"] for p in s["people"]
              if p["full_name"] == "吴晚归"]
    assert [p["status"] for p in before] == ["missed"]
    late = await client.post(f"/api/v1/subjects/{person.id}/readings", headers=h,
                             json={"temperature_c": 36.5, "source": "visit"})
    assert late.status_code == 201 and late.json()["window_start"] is None
    assert "吴晚归" not in await _round_names(client, h)
    roster = (await client.get("/api/v1/roster?status=missed", headers=world.admin_h)).json()
    assert "吴晚归" in [i["full_name"] for i in roster["items"]]  # the window itself was still missed
