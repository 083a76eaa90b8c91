"""Correcting a record, refusing duplicates, and extending an observation: per role and foreign grid."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from server.context import AppContext
from server.models import AuditEntry
from tests.factories import World

ENROL = {"full_name": "赵六", "phone": "138 0013 8111", "observation_type": "home",
         "reason": "returned from an affected area", "id_number": "510107199001011234"}


async def audit_entries(ctx: AppContext, action: str) -> list[AuditEntry]:
    async with ctx.db.session() as session:
        return list((await session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                           .order_by(AuditEntry.id))).all())


async def test_admin_corrects_any_field_and_each_change_is_audited_masked(
        client: httpx.AsyncClient, world: World) -> None:
    url = f"/api/v1/subjects/{world.subject_a.id}"
    response = await client.patch(url, json={"full_name": "王晓明", "phone": "139-0000-1111",
                                             "id_number": "110101199003071234", "date_of_birth": "1948-05-02",
                                             "observation_type": "centralized", "address": "东园 3-201"},
                                  headers=world.admin_h)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["full_name"], body["phone"], body["observation_type"]) == ("王晓明", "+8613900001111", "centralized")
    assert body["id_number_masked"] == "110***********1234" and body["date_of_birth"] == "1948-05-02"
    again = (await client.get(url, headers=world.admin_h)).json()
    assert again["full_name"] == "王晓明" and again["address"] == "东园 3-201"

    [entry] = await audit_entries(world.ctx, "subject.corrected")
    assert entry.actor_name == "admin" and entry.subject_id == world.subject_a.id
    changes = entry.detail["changes"]
    assert changes["full_name"] == ["王小明", "王晓明"]
    assert changes["phone"] == ["+8613800138000", "+8613900001111"]
    assert changes["id_number"] == [None, "110***********1234"]
    assert "110101199003071234" not in str(entry.detail)


async def test_an_unchanged_field_is_not_audited_and_null_clears_an_optional_one(
        client: httpx.AsyncClient, world: World) -> None:
    url = f"/api/v1/subjects/{world.subject_a.id}"
    await client.patch(url, json={"address": "东园 3-201"}, headers=world.admin_h)
    response = await client.patch(url, json={"address": None, "full_name": "王小明"}, headers=world.admin_h)
    assert response.json()["address"] is None
    entries = await audit_entries(world.ctx, "subject.corrected")
    assert [e.detail["changes"] for e in entries] == [{"address": [None, "东园 3-201"]},
                                                      {"address": ["东园 3-201", None]}]
    refused = await client.patch(url, json={"phone": None}, headers=world.admin_h)
    assert refused.status_code == 422 and "phone number" in refused.json()["detail"]


async def test_clinician_corrects_contact_details_in_their_grid_only(client: httpx.AsyncClient,
                                                                     world: World) -> None:
    own = f"/api/v1/subjects/{world.subject_a.id}"
    response = await client.patch(own, json={"phone": "13700137000", "language": "en"}, headers=world.clin_a)
    assert response.status_code == 200 and response.json()["language"] == "en"
    name = await client.patch(own, json={"full_name": "别人"}, headers=world.clin_a)
    assert name.status_code == 403 and "full_name" in name.json()["detail"]
    assert (await client.get(own, headers=world.admin_h)).json()["full_name"] == "王小明"
    foreign = await client.patch(f"/api/v1/subjects/{world.subject_b.id}", json={"phone": "13700137000"},
                                 headers=world.clin_a)
    assert foreign.status_code == 404
    assert (await client.get(f"/api/v1/subjects/{world.subject_b.id}", headers=world.admin_h)).json()["phone"] \
        == "+8613900139000"
    assert (await client.patch(own, json={"phone": "13700137000"}, headers=world.subj_a)).status_code in (401, 403)


async def test_bad_corrections_are_refused_with_reasons(client: httpx.AsyncClient, world: World) -> None:
    url = f"/api/v1/subjects/{world.subject_a.id}"
    for body, field in (({"phone": "call me"}, "phone"), ({"full_name": "  "}, "full_name"),
                        ({"observation_type": "hotel"}, "observation_type"), ({"id_number": "11-22"}, "id_number")):
        response = await client.patch(url, json=body, headers=world.admin_h)
        assert response.status_code == 422 and field in response.json()["detail"], body
    assert await audit_entries(world.ctx, "subject.corrected") == []


async def test_enrolment_refuses_a_duplicate_by_id_number_or_name_and_phone(client: httpx.AsyncClient,
                                                                           world: World) -> None:
    first = await client.post("/api/v1/subjects", json={**ENROL, "grid_id": world.grid_a.id}, headers=world.admin_h)
    assert first.status_code == 201
    same_id = await client.post("/api/v1/subjects", json={**ENROL, "full_name": "赵 六六", "phone": "13700000000",
                                                         "grid_id": world.grid_b.id}, headers=world.admin_h)
    assert same_id.status_code == 409
    assert same_id.json()["error"] == "duplicate"
    assert same_id.json()["existing_subject_id"] == first.json()["id"]
    assert "ID number" in same_id.json()["detail"]
    same_name_phone = await client.post("/api/v1/subjects", json={
        **ENROL, "full_name": "王 小明", "phone": "13800138000", "id_number": None, "grid_id": world.grid_b.id},
        headers=world.admin_h)
    assert same_name_phone.status_code == 409
    assert same_name_phone.json()["existing_subject_id"] == str(world.subject_a.id)
    # A namesake with another phone is another person.
    namesake = await client.post("/api/v1/subjects", json={
        **ENROL, "full_name": "王小明", "phone": "13600136000", "id_number": None, "grid_id": world.grid_b.id},
        headers=world.admin_h)
    assert namesake.status_code == 201


async def test_allow_duplicate_enrols_anyway_and_says_so_in_the_audit(client: httpx.AsyncClient,
                                                                      world: World) -> None:
    body = {**ENROL, "full_name": "王小明", "phone": "13800138000", "id_number": None, "grid_id": world.grid_a.id}
    assert (await client.post("/api/v1/subjects", json=body, headers=world.admin_h)).status_code == 409
    response = await client.post("/api/v1/subjects", json={**body, "allow_duplicate": True}, headers=world.admin_h)
    assert response.status_code == 201
    entries = await audit_entries(world.ctx, "subject.enrolled")
    assert entries[-1].detail["duplicate_of"] == str(world.subject_a.id)
    assert entries[-1].detail["duplicate_because"] == "name_and_phone"


async def test_a_released_person_is_no_duplicate(client: httpx.AsyncClient, world: World) -> None:
    await client.post(f"/api/v1/subjects/{world.subject_a.id}/release", json={"override": True, "note": "转院"},
                      headers=world.admin_h)
    body = {**ENROL, "full_name": "王小明", "phone": "13800138000", "id_number": None, "grid_id": world.grid_a.id}
    assert (await client.post("/api/v1/subjects", json=body, headers=world.admin_h)).status_code == 201


async def test_last_exposure_sets_the_planned_end(client: httpx.AsyncClient, world: World) -> None:
    # The clock stands at 2026-03-10.
    body = {**ENROL, "grid_id": world.grid_a.id, "last_exposure_date": "2026-03-05"}
    created = (await client.post("/api/v1/subjects", json=body, headers=world.admin_h)).json()
    assert created["planned_end_date"] == "2026-03-19" and created["last_exposure_date"] == "2026-03-05"
    assert created["start_date"] == "2026-03-10"
    future = await client.post("/api/v1/subjects", json={**body, "id_number": None, "phone": "13711111111",
                                                         "last_exposure_date": "2026-03-11"}, headers=world.admin_h)
    assert future.status_code == 422 and "future" in future.json()["detail"]
    over = await client.post("/api/v1/subjects", json={**body, "id_number": None, "phone": "13711111111",
                                                       "last_exposure_date": "2026-02-01"}, headers=world.admin_h)
    assert over.status_code == 422


async def test_extension_moves_the_end_later_and_the_person_sees_why(client: httpx.AsyncClient,
                                                                    world: World) -> None:
    url = f"/api/v1/subjects/{world.subject_a.id}/extend"
    before = (await client.get(f"/api/v1/subjects/{world.subject_a.id}", headers=world.admin_h)).json()
    assert before["planned_end_date"] == "2026-03-24"
    response = await client.post(url, json={"days": 7, "reason": "家人确诊"}, headers=world.clin_a)
    assert response.status_code == 200, response.text
    assert response.json()["planned_end_date"] == "2026-03-31" and response.json()["duration_days"] == 21
    me = (await client.get("/api/v1/me", headers=world.subj_a)).json()
    assert me["planned_end_date"] == "2026-03-31" and me["end_date_reason"] == "家人确诊"

    exposure = await client.post(url, json={"last_exposure_date": "2026-03-20", "reason": "再次接触"},
                                 headers=world.admin_h)
    assert exposure.status_code == 422 and "future" in exposure.json()["detail"]
    exposure = await client.post(url, json={"last_exposure_date": "2026-03-09", "reason": "再次接触"},
                                 headers=world.admin_h)
    assert exposure.status_code == 422 and "2026-03-23" in exposure.json()["detail"]

    [entry] = await audit_entries(world.ctx, "subject.extended")
    assert entry.detail["old_end"] == "2026-03-24" and entry.detail["new_end"] == "2026-03-31"
    assert entry.actor_name == "doc-a"


async def test_extension_is_refused_out_of_scope_without_a_choice_or_after_release(
        client: httpx.AsyncClient, world: World) -> None:
    url = f"/api/v1/subjects/{world.subject_b.id}/extend"
    assert (await client.post(url, json={"days": 3, "reason": "x"}, headers=world.clin_a)).status_code == 404
    neither = await client.post(url, json={"reason": "x"}, headers=world.admin_h)
    assert neither.status_code == 422 and "either" in neither.json()["detail"]
    assert (await client.post(url, json={"days": 3, "reason": " "}, headers=world.admin_h)).status_code == 422
    assert (await client.post(url, json={"days": 0, "reason": "x"}, headers=world.admin_h)).status_code == 422
    await client.post(f"/api/v1/subjects/{world.subject_b.id}/release", json={"override": True, "note": "转院"},
                      headers=world.admin_h)
    assert (await client.post(url, json={"days": 3, "reason": "x"}, headers=world.admin_h)).status_code == 409
    assert await audit_entries(world.ctx, "subject.extended") == []


async def test_corrections_and_extensions_are_published_with_the_grid(client: httpx.AsyncClient, world: World,
                                                                       app_ctx: AppContext) -> None:
    events: list[tuple[str, dict[str, object]]] = []

    async def capture(event_type: str, data: dict[str, object]) -> None:
        events.append((event_type, data))

    app_ctx.db.publisher = capture
    await client.post(f"/api/v1/subjects/{world.subject_a.id}/extend", json={"days": 2, "reason": "复查"},
                      headers=world.admin_h)
    await client.patch(f"/api/v1/subjects/{world.subject_a.id}", json={"address": "东园 1-101"},
                       headers=world.clin_a)
    assert [(t, d["subject_id"], d["grid_id"]) for t, d in events] == [
        ("subject.extended", str(world.subject_a.id), world.grid_a.id),
        ("subject.updated", str(world.subject_a.id), world.grid_a.id)]
    assert events[0][1]["planned_end_date"] == "2026-03-26"
