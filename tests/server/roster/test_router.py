from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from server.context import AppContext
from tests.conftest import Clock
from tests.factories import World, enrol, make_grid, make_user, staff_headers


async def test_roster_orders_most_severe_first_with_counts(client: httpx.AsyncClient, world: World,
                                                           app_ctx: AppContext) -> None:
    grid = world.grid_a
    ok = await enrol(app_ctx, grid, name="甲 ok", phone="13000000001")
    fever = await enrol(app_ctx, grid, name="乙 fever", phone="13000000002")
    symptoms = await enrol(app_ctx, grid, name="丙 symptoms", phone="13000000003")
    from tests.factories import subject_headers
    await client.post("/api/v1/readings", headers=subject_headers(app_ctx, ok), json={"temperature_c": 36.5})
    await client.post("/api/v1/readings", headers=subject_headers(app_ctx, fever), json={"temperature_c": 37.8})
    await client.post("/api/v1/readings", headers=subject_headers(app_ctx, symptoms),
                      json={"temperature_c": 36.6, "symptoms": ["cough"]})
    roster = (await client.get("/api/v1/roster", headers=world.clin_a)).json()
    names = [i["full_name"] for i in roster["items"]]
    # Abnormal first (fever before symptoms only), then due (王小明 has not reported), then ok.
    assert names[:2] == ["乙 fever", "丙 symptoms"]
    assert names[2:] == ["王小明", "甲 ok"]
    assert roster["counts"] == {"abnormal": 2, "missed": 0, "due": 1, "ok": 1, "total": 4}
    by_name = {i["full_name"]: i for i in roster["items"]}
    assert by_name["乙 fever"]["flags"] == ["fever"]
    assert by_name["丙 symptoms"]["flags"] == ["symptoms"]
    assert by_name["王小明"]["flags"] == ["due"]
    assert by_name["乙 fever"]["last_reading"]["temperature_c"] == 37.8
    assert by_name["甲 ok"]["observation_day"] == 1
    assert all(i["grid_id"] == grid.id for i in roster["items"])


async def test_missed_window_appears_when_time_passes(client: httpx.AsyncClient, world: World,
                                                      clock: Clock) -> None:
    await client.post("/api/v1/readings", headers=world.subj_b, json={"temperature_c": 36.5})
    clock.now += timedelta(hours=3)  # 12:30 Shanghai: the morning window closed at 11:00
    roster = (await client.get("/api/v1/roster", headers=world.admin_h)).json()
    statuses = {i["full_name"]: (i["status"], i["flags"]) for i in roster["items"]}
    assert statuses["王小明"] == ("missed", ["missed_reading"])
    assert statuses["李华"] == ("ok", [])
    assert roster["counts"]["missed"] == 1 and roster["counts"]["ok"] == 1
    clock.now += timedelta(hours=5)  # 17:30: evening window open, morning one still the last closed
    roster = (await client.get("/api/v1/roster", headers=world.admin_h)).json()
    statuses = {i["full_name"]: (i["status"], i["flags"]) for i in roster["items"]}
    assert statuses["王小明"] == ("missed", ["missed_reading", "due"])
    assert statuses["李华"] == ("due", ["due"])


async def test_fever_ages_out_after_24_hours(client: httpx.AsyncClient, world: World, clock: Clock) -> None:
    await client.post("/api/v1/readings", headers=world.subj_a, json={"temperature_c": 38.9})
    first = (await client.get("/api/v1/roster", headers=world.clin_a)).json()["items"][0]
    assert first["status"] == "abnormal" and first["flags"] == ["high_fever"]
    clock.now += timedelta(hours=24, minutes=1)
    await client.post("/api/v1/readings", headers=world.subj_a, json={"temperature_c": 36.6})
    item = (await client.get("/api/v1/roster", headers=world.clin_a)).json()["items"][0]
    # The fever has aged out; what is left is yesterday evening's empty window.
    assert item["status"] == "missed" and item["flags"] == ["missed_reading"]


async def test_clinician_sees_only_their_grids_and_cannot_filter_foreign(client: httpx.AsyncClient,
                                                                        world: World) -> None:
    roster = (await client.get("/api/v1/roster", headers=world.clin_a)).json()
    assert [i["full_name"] for i in roster["items"]] == ["王小明"]
    assert roster["counts"]["total"] == 1
    foreign = await client.get("/api/v1/roster", params={"grid_id": world.grid_b.id}, headers=world.clin_a)
    assert foreign.status_code == 403


async def test_clinician_without_grids_sees_nobody(client: httpx.AsyncClient, world: World,
                                                   app_ctx: AppContext) -> None:
    lonely = await make_user(app_ctx, username="lonely")
    roster = (await client.get("/api/v1/roster", headers=staff_headers(app_ctx, lonely))).json()
    assert roster["items"] == [] and roster["counts"]["total"] == 0


async def test_filters_search_and_pagination(client: httpx.AsyncClient, world: World, app_ctx: AppContext) -> None:
    grid = await make_grid(app_ctx, "南湖")
    for i in range(5):
        await enrol(app_ctx, grid, name=f"张{i}", phone=f"1370000000{i}")
    by_grid = (await client.get("/api/v1/roster", params={"grid_id": grid.id, "limit": 2},
                                headers=world.admin_h)).json()
    assert by_grid["counts"]["total"] == 5 and len(by_grid["items"]) == 2
    page2 = (await client.get("/api/v1/roster", params={"grid_id": grid.id, "limit": 2, "offset": 2},
                              headers=world.admin_h)).json()
    assert {i["full_name"] for i in by_grid["items"]}.isdisjoint({i["full_name"] for i in page2["items"]})
    by_phone = (await client.get("/api/v1/roster", params={"q": "0003"}, headers=world.admin_h)).json()
    assert [i["full_name"] for i in by_phone["items"]] == ["张3"]
    by_name = (await client.get("/api/v1/roster", params={"q": "李"}, headers=world.admin_h)).json()
    assert [i["full_name"] for i in by_name["items"]] == ["李华"]
    due_only = (await client.get("/api/v1/roster", params={"status": "due"}, headers=world.admin_h)).json()
    assert due_only["counts"]["total"] == 7 and len(due_only["items"]) == 7
    ok_only = (await client.get("/api/v1/roster", params={"status": "ok"}, headers=world.admin_h)).json()
    assert ok_only["items"] == []
    bad = await client.get("/api/v1/roster", params={"status": "sleeping"}, headers=world.admin_h)
    assert bad.status_code == 422


async def test_released_subjects_leave_the_roster(client: httpx.AsyncClient, world: World) -> None:
    await client.post(f"/api/v1/subjects/{world.subject_a.id}/release", headers=world.admin_h,
                      json={"override": True, "note": "transferred to hospital"})
    roster = (await client.get("/api/v1/roster", headers=world.admin_h)).json()
    assert [i["full_name"] for i in roster["items"]] == ["李华"]


async def test_enrolled_in_the_afternoon_has_not_missed_the_morning(client: httpx.AsyncClient, world: World,
                                                                    app_ctx: AppContext, clock: Clock) -> None:
    from tests.factories import subject_headers

    clock.now += timedelta(hours=5)  # 14:30 Shanghai, after the morning window
    late = await enrol(app_ctx, world.grid_a, name="晚到", phone="13000000009")
    roster = (await client.get("/api/v1/roster", headers=world.clin_a)).json()
    statuses = {i["full_name"]: (i["status"], i["flags"]) for i in roster["items"]}
    assert statuses["晚到"] == ("ok", [])
    assert statuses["王小明"] == ("missed", ["missed_reading"])  # enrolled at 09:30, before the window closed
    me = (await client.get("/api/v1/me", headers=subject_headers(app_ctx, late))).json()
    assert [w["state"] for w in me["windows_today"]] == ["before_start", "upcoming"]
    clock.now += timedelta(hours=7)  # 21:30: the evening window, opened after enrolment, was missed
    roster = (await client.get("/api/v1/roster", headers=world.clin_a)).json()
    assert {i["full_name"]: i["status"] for i in roster["items"]}["晚到"] == "missed"


async def test_high_fever_comes_first_within_abnormal(client: httpx.AsyncClient, world: World,
                                                      app_ctx: AppContext, clock: Clock) -> None:
    from tests.factories import subject_headers

    # Names that sort the other way round, so the order can only come from severity.
    people = {name: await enrol(app_ctx, world.grid_a, name=name, phone=f"1360000000{i}")
              for i, name in enumerate(["A 咳嗽", "B 发热", "C 高热"])}
    await client.post("/api/v1/readings", headers=subject_headers(app_ctx, people["A 咳嗽"]),
                      json={"temperature_c": 36.6, "symptoms": ["cough"]})
    for name, temperature in (("B 发热", 37.6), ("C 高热", 39.0)):
        await client.post("/api/v1/readings", headers=subject_headers(app_ctx, people[name]),
                          json={"temperature_c": temperature})
    items = (await client.get("/api/v1/roster", headers=world.clin_a)).json()["items"]
    assert [i["full_name"] for i in items[:3]] == ["C 高热", "B 发热", "A 咳嗽"]
    # When the high fever ages out and only a later cough remains, the person moves down.
    clock.now += timedelta(hours=20)
    await client.post("/api/v1/readings", headers=subject_headers(app_ctx, people["C 高热"]),
                      json={"temperature_c": 36.8, "symptoms": ["cough"]})
    clock.now += timedelta(hours=4, minutes=1)
    await client.post("/api/v1/readings", headers=subject_headers(app_ctx, people["A 咳嗽"]),
                      json={"temperature_c": 36.6, "symptoms": ["cough"]})
    await client.post("/api/v1/readings", headers=subject_headers(app_ctx, people["B 发热"]),
                      json={"temperature_c": 38.0})
    items = (await client.get("/api/v1/roster", headers=world.clin_a)).json()["items"]
    assert [i["full_name"] for i in items[:3]] == ["B 发热", "A 咳嗽", "C 高热"]


async def test_a_flag_shows_the_fever_that_raised_it_and_open_alerts_are_named(
        client: httpx.AsyncClient, world: World, app_ctx: AppContext, clock: Clock) -> None:
    await client.post("/api/v1/readings", headers=world.subj_a, json={"temperature_c": 37.6})
    clock.now += timedelta(minutes=30)
    await client.post("/api/v1/readings", headers=world.subj_a, json={"temperature_c": 39.1})
    high_at = app_ctx.now()
    clock.now += timedelta(hours=2)
    await client.post("/api/v1/readings", headers=world.subj_a, json={"temperature_c": 37.0})
    [item] = [i for i in (await client.get("/api/v1/roster", headers=world.clin_a)).json()["items"]
              if i["subject_id"] == str(world.subject_a.id)]
    assert item["last_reading"]["temperature_c"] == 37.0
    assert item["flag_temperature"]["temperature_c"] == 39.1
    assert item["flag_temperature"]["taken_at"].startswith(high_at.isoformat()[:16])
    assert item["open_alert_kinds"] == ["fever", "high_fever"]
    assert item["video_today"] == "none"
    # Past the flags' window the fever no longer explains anything; the open alerts are still named.
    clock.now += app_ctx.settings.rules.flag_lookback
    [later] = [i for i in (await client.get("/api/v1/roster", headers=world.clin_a)).json()["items"]
               if i["subject_id"] == str(world.subject_a.id)]
    assert later["flag_temperature"] is None
    assert later["open_alert_kinds"] == ["fever", "high_fever"]


async def test_the_fever_beside_a_flag_carries_the_time_it_was_taken_not_when_it_arrived(
        client: httpx.AsyncClient, world: World, app_ctx: AppContext, clock: Clock) -> None:
    # A phone that was offline sends this morning's 38.9 °C two hours late.
    taken = app_ctx.now() - timedelta(hours=2)
    response = await client.post("/api/v1/readings", headers=world.subj_a,
                                 json={"temperature_c": 38.9, "taken_at": taken.isoformat()})
    assert response.status_code == 201, response.text
    [item] = [i for i in (await client.get("/api/v1/roster", headers=world.clin_a)).json()["items"]
              if i["subject_id"] == str(world.subject_a.id)]
    assert item["flag_temperature"]["temperature_c"] == 38.9
    assert datetime.fromisoformat(item["flag_temperature"]["taken_at"]) == taken
