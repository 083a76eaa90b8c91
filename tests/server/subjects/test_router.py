from __future__ import annotations

import uuid

import httpx

from tests.factories import World

ENROL = {"full_name": "赵六", "phone": "138 0013 8111", "observation_type": "home",
         "reason": "returned from an affected area", "id_number": "510107199001011234"}


async def test_admin_enrols_subject_with_link_and_defaults(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post("/api/v1/subjects", json={**ENROL, "grid_id": world.grid_a.id}, headers=world.admin_h)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "active"
    assert body["start_date"] == "2026-03-10" and body["planned_end_date"] == "2026-03-24"
    assert body["access_url"] == f"http://homewatch.test/s/{body['access_code']}"
    assert len(body["access_code"]) >= 22  # 128 bits, URL-safe base64
    assert body["phone"] == "+8613800138111"
    assert body["id_number_masked"] == "510***********1234"
    assert "id_number" not in body
    # The code works once handed out, and is not retrievable again.
    token = await client.post("/api/v1/auth/subject-token", json={"access_code": body["access_code"]})
    assert token.status_code == 200
    again = (await client.get(f"/api/v1/subjects/{body['id']}", headers=world.admin_h)).json()
    assert "access_code" not in again


async def test_enrol_with_explicit_start_and_duration(client: httpx.AsyncClient, world: World) -> None:
    body = {**ENROL, "grid_id": world.grid_b.id, "start_date": "2026-03-01", "duration_days": 21,
            "observation_type": "centralized"}
    created = (await client.post("/api/v1/subjects", json=body, headers=world.admin_h)).json()
    assert created["planned_end_date"] == "2026-03-22"
    assert created["observation_day"] == 10


async def test_enrol_refuses_bad_input_with_readable_reasons(client: httpx.AsyncClient, world: World) -> None:
    cases = [
        ({**ENROL, "grid_id": 999}, "No grid with id 999"),
        ({**ENROL, "grid_id": world.grid_a.id, "phone": "call me"}, "phone"),
        ({**ENROL, "grid_id": world.grid_a.id, "observation_type": "hotel"}, "observation_type"),
        ({**ENROL, "grid_id": world.grid_a.id, "full_name": "   "}, "full_name"),
    ]
    for body, expected in cases:
        response = await client.post("/api/v1/subjects", json=body, headers=world.admin_h)
        assert response.status_code == 422, body
        assert expected in response.json()["detail"]


async def test_only_admins_enrol(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post("/api/v1/subjects", json={**ENROL, "grid_id": world.grid_a.id}, headers=world.clin_a)
    assert response.status_code == 403


async def test_clinician_sees_own_grid_subject_but_not_foreign_one(client: httpx.AsyncClient, world: World) -> None:
    own = await client.get(f"/api/v1/subjects/{world.subject_a.id}", headers=world.clin_a)
    assert own.status_code == 200 and own.json()["full_name"] == "王小明"
    foreign = await client.get(f"/api/v1/subjects/{world.subject_b.id}", headers=world.clin_a)
    assert foreign.status_code == 404
    assert "李华" not in foreign.text
    missing = await client.get(f"/api/v1/subjects/{uuid.uuid4()}", headers=world.admin_h)
    assert missing.status_code == 404


async def test_only_admin_reissues_access_code(client: httpx.AsyncClient, world: World) -> None:
    url = f"/api/v1/subjects/{world.subject_a.id}/access-code"
    assert (await client.post(url, headers=world.clin_a)).status_code == 403
    assert (await client.post(url, headers=world.subj_a)).status_code == 401


async def test_clinician_note_is_saved(client: httpx.AsyncClient, world: World) -> None:
    url = f"/api/v1/subjects/{world.subject_a.id}/note"
    response = await client.put(url, json={"clinician_note": "独居老人，需电话提醒"}, headers=world.clin_a)
    assert response.json()["clinician_note"] == "独居老人，需电话提醒"
    assert (await client.put(f"/api/v1/subjects/{world.subject_b.id}/note", json={"clinician_note": "x"},
                             headers=world.clin_a)).status_code == 404
