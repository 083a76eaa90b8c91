"""Public-health actions, tests, transfers between grids and centralised sites: per role and foreign grid."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
from sqlalchemy import select

from server.context import AppContext
from server.models import Alert, Subject
from tests.conftest import Clock
from tests.factories import World, enrol, make_user, staff_headers


async def test_actions_flag_the_roster_and_an_outcome_closes_the_case(client: httpx.AsyncClient,
                                                                      world: World, clock: Clock) -> None:
    url = f"/api/v1/subjects/{world.subject_a.id}/actions"
    referred = await client.post(url, json={"kind": "referred_fever_clinic", "note": "发热门诊"}, headers=world.clin_a)
    assert referred.status_code == 201 and referred.json()["kind"] == "referred_fever_clinic"
    roster = (await client.get("/api/v1/roster", headers=world.clin_a)).json()["items"]
    assert roster[0]["flags"][0] == "referred"
    await client.post(url, json={"kind": "suspected_case"}, headers=world.clin_a)
    await client.post(url, json={"kind": "referred_fever_clinic"}, headers=world.clin_a)
    record = (await client.get(f"/api/v1/subjects/{world.subject_a.id}", headers=world.clin_a)).json()
    assert record["case_flag"] == "suspected"  # a later referral does not hide the suspicion
    await client.post(url, json={"kind": "moved_to_centralized"}, headers=world.clin_a)
    assert (await client.get(f"/api/v1/subjects/{world.subject_a.id}",
                             headers=world.clin_a)).json()["observation_type"] == "centralized"

    clock.now += timedelta(minutes=5)
    closed = await client.post(url, json={"kind": "hospitalized", "note": "转入定点医院"}, headers=world.clin_a)
    assert closed.status_code == 201
    record = (await client.get(f"/api/v1/subjects/{world.subject_a.id}", headers=world.clin_a)).json()
    assert (record["status"], record["outcome"]) == ("closed", "hospitalized")
    names = [i["full_name"] for i in (await client.get("/api/v1/roster", headers=world.admin_h)).json()["items"]]
    assert "王小明" not in names and "李华" in names
    assert (await client.post(url, json={"kind": "other"}, headers=world.clin_a)).status_code == 409
    kinds = [a["kind"] for a in (await client.get(url, headers=world.clin_a)).json()]
    assert kinds[0] == "hospitalized" and len(kinds) == 5


async def test_actions_are_refused_out_of_scope_in_the_future_or_of_unknown_kind(client: httpx.AsyncClient,
                                                                                 world: World) -> None:
    url = f"/api/v1/subjects/{world.subject_b.id}/actions"
    assert (await client.post(url, json={"kind": "other"}, headers=world.clin_a)).status_code == 404
    assert (await client.get(url, headers=world.clin_a)).status_code == 404
    assert (await client.post(url, json={"kind": "other"}, headers=world.subj_b)).status_code in (401, 403)
    assert (await client.post(url, json={"kind": "teleported"}, headers=world.admin_h)).status_code == 422
    future = await client.post(url, json={"kind": "other", "at": "2026-03-11T08:00:00+08:00"},
                               headers=world.admin_h)
    assert future.status_code == 422
    assert (await client.get(url, headers=world.admin_h)).json() == []


async def test_tests_flag_pending_and_a_positive_result_opens_an_alert(client: httpx.AsyncClient, world: World,
                                                                       app_ctx: AppContext) -> None:
    url = f"/api/v1/subjects/{world.subject_a.id}/tests"
    created = await client.post(url, json={"kind": "nucleic_acid", "sampled_at": "2026-03-10T08:00:00+08:00",
                                           "lab": "区疾控"}, headers=world.clin_a)
    assert created.status_code == 201 and created.json()["result"] == "pending"
    test_id = created.json()["id"]
    roster = (await client.get("/api/v1/roster", headers=world.clin_a)).json()["items"]
    assert "test_pending" in roster[0]["flags"]

    positive = await client.patch(f"{url}/{test_id}", json={"result": "positive"}, headers=world.clin_a)
    assert positive.status_code == 200 and positive.json()["resulted_at"] is not None
    record = (await client.get(f"/api/v1/subjects/{world.subject_a.id}", headers=world.clin_a)).json()
    assert record["test_state"] == "positive" and record["roster_status"] == "abnormal"
    # A positive test ranks above a high fever.
    await client.post("/api/v1/readings", json={"temperature_c": 39.2}, headers=world.subj_b)
    roster = (await client.get("/api/v1/roster", headers=world.admin_h)).json()
    assert [(i["full_name"], i["status"], i["flags"][0]) for i in roster["items"]] == [
        ("王小明", "abnormal", "test_positive"), ("李华", "abnormal", "high_fever")]
    assert roster["counts"]["abnormal"] == 2
    async with app_ctx.db.session() as session:
        kinds = (await session.scalars(select(Alert.kind).where(Alert.subject_id == world.subject_a.id))).all()
    assert kinds == ["test_positive"]
    # Recording the same result again opens no second alert.
    await client.patch(f"{url}/{test_id}", json={"result": "positive"}, headers=world.clin_a)
    async with app_ctx.db.session() as session:
        assert len((await session.scalars(select(Alert.id).where(Alert.subject_id == world.subject_a.id))).all()) == 1
    eligibility = (await client.get(f"/api/v1/subjects/{world.subject_a.id}/release-eligibility",
                                    headers=world.admin_h)).json()
    assert "test_positive" in [r["code"] for r in eligibility["reasons"]]
    listed = (await client.get(url, headers=world.admin_h)).json()
    assert [t["result"] for t in listed] == ["positive"]


async def test_tests_are_refused_out_of_scope_and_with_impossible_times(client: httpx.AsyncClient,
                                                                        world: World) -> None:
    url = f"/api/v1/subjects/{world.subject_b.id}/tests"
    body = {"kind": "antigen", "sampled_at": "2026-03-10T08:00:00+08:00"}
    assert (await client.post(url, json=body, headers=world.clin_a)).status_code == 404
    assert (await client.post(url, json={**body, "sampled_at": "2026-03-12T08:00:00+08:00"},
                              headers=world.admin_h)).status_code == 422
    assert (await client.post(url, json={**body, "sampled_at": "2026-03-10T08:00:00"},
                              headers=world.admin_h)).status_code == 422  # no time zone
    assert (await client.post(url, json={**body, "kind": "pcr"}, headers=world.admin_h)).status_code == 422
    created = (await client.post(url, json=body, headers=world.admin_h)).json()
    assert (await client.patch(f"/api/v1/subjects/{world.subject_a.id}/tests/{created['id']}",
                               json={"result": "negative"}, headers=world.admin_h)).status_code == 404


async def test_negative_tests_are_a_release_rule_when_the_district_asks(client: httpx.AsyncClient, world: World,
                                                                        app_ctx: AppContext) -> None:
    from dataclasses import replace

    app_ctx.settings.__dict__["rules"] = replace(app_ctx.settings.rules, release_negative_tests=2)
    person = await enrol(app_ctx, world.grid_a, name="周新", phone="13512345678", start_date=date(2026, 3, 1))
    url = f"/api/v1/subjects/{person.id}"
    codes = [r["code"] for r in (await client.get(f"{url}/release-eligibility", headers=world.admin_h)).json()[
        "reasons"]]
    assert "tests_missing" in codes
    for sampled in ("2026-03-08T08:00:00+08:00", "2026-03-09T09:00:00+08:00"):
        await client.post(f"{url}/tests", json={"kind": "nucleic_acid", "sampled_at": sampled,
                                                "result": "negative"}, headers=world.admin_h)
    codes = [r["code"] for r in (await client.get(f"{url}/release-eligibility", headers=world.admin_h)).json()[
        "reasons"]]
    assert "tests_missing" not in codes and "test_too_old" not in codes
    # Someone else, without tests of their own, still lacks them.
    codes = [r["code"] for r in (await client.get(f"/api/v1/subjects/{world.subject_a.id}/release-eligibility",
                                                  headers=world.admin_h)).json()["reasons"]]
    assert "tests_missing" in codes


async def test_transfer_moves_the_person_their_alerts_and_who_may_see_them(client: httpx.AsyncClient,
                                                                          world: World, app_ctx: AppContext) -> None:
    events: list[tuple[str, dict[str, object]]] = []

    async def capture(event_type: str, data: dict[str, object]) -> None:
        events.append((event_type, data))

    await client.post("/api/v1/readings", json={"temperature_c": 38.0}, headers=world.subj_a)
    app_ctx.db.publisher = capture
    url = f"/api/v1/subjects/{world.subject_a.id}/transfer"
    # A clinician of grid A only cannot move people into grid B.
    refused = await client.post(url, json={"grid_id": world.grid_b.id, "reason": "搬家"}, headers=world.clin_a)
    assert refused.status_code == 403
    both = await make_user(app_ctx, grids_=[world.grid_a, world.grid_b], username="doc-ab")
    moved = await client.post(url, json={"grid_id": world.grid_b.id, "reason": "搬到父母家"},
                              headers=staff_headers(app_ctx, both))
    assert moved.status_code == 200 and moved.json()["grid_id"] == world.grid_b.id
    assert (await client.get(f"/api/v1/subjects/{world.subject_a.id}", headers=world.clin_a)).status_code == 404
    seen = await client.get(f"/api/v1/subjects/{world.subject_a.id}/readings", headers=world.clin_b)
    assert seen.status_code == 200 and [r["temperature_c"] for r in seen.json()] == [38.0]
    alerts_b = (await client.get("/api/v1/alerts", headers=world.clin_b)).json()
    assert [a["subject_id"] for a in alerts_b] == [str(world.subject_a.id)]
    assert (await client.get("/api/v1/alerts", headers=world.clin_a)).json() == []
    assert sorted(d["grid_id"] for t, d in events if t == "subject.transferred") == sorted(
        [world.grid_a.id, world.grid_b.id])
    counts_a = (await client.get("/api/v1/roster", params={"grid_id": world.grid_a.id},
                                 headers=world.admin_h)).json()["counts"]
    counts_b = (await client.get("/api/v1/roster", params={"grid_id": world.grid_b.id},
                                 headers=world.admin_h)).json()["counts"]
    assert (counts_a["total"], counts_b["total"]) == (0, 2)
    same = await client.post(url, json={"grid_id": world.grid_b.id, "reason": "x"}, headers=world.admin_h)
    assert same.status_code == 422
    nowhere = await client.post(url, json={"grid_id": 9999, "reason": "x"}, headers=world.admin_h)
    assert nowhere.status_code == 422


async def test_sites_hold_people_with_rooms_and_filter_the_roster(client: httpx.AsyncClient, world: World,
                                                                   app_ctx: AppContext) -> None:
    assert (await client.post("/api/v1/sites", json={"name": "如家酒店"}, headers=world.clin_a)).status_code == 403
    site = await client.post("/api/v1/sites", json={"name": "如家酒店", "address": "滨江路 8 号"},
                             headers=world.admin_h)
    assert site.status_code == 201
    site_id = site.json()["id"]
    assert (await client.post("/api/v1/sites", json={"name": "如家酒店"}, headers=world.admin_h)).status_code == 409
    patched = await client.patch(f"/api/v1/subjects/{world.subject_b.id}",
                                 json={"observation_type": "centralized", "site_id": site_id, "room": "305"},
                                 headers=world.admin_h)
    assert patched.status_code == 200 and (patched.json()["site_id"], patched.json()["room"]) == (site_id, "305")
    assert (await client.patch(f"/api/v1/subjects/{world.subject_b.id}", json={"site_id": 999},
                               headers=world.admin_h)).status_code == 422
    sites = (await client.get("/api/v1/sites", headers=world.clin_b)).json()
    assert [(s["name"], s["people"]) for s in sites] == [("如家酒店", 1)]
    roster = (await client.get("/api/v1/roster", params={"site_id": site_id}, headers=world.admin_h)).json()
    assert [i["full_name"] for i in roster["items"]] == ["李华"] and roster["counts"]["total"] == 1
    async with app_ctx.db.session() as session:
        subject = await session.get_one(Subject, world.subject_b.id)
        assert subject.room == "305"
