"""Self-declaration and the screening queue: public declaring (rate-limited), the queue per area, enrol
with the one enrolment's duplicate check, dismiss, and census progress."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from server.settings import Settings
from tests.factories import World

DECLARATION = {"full_name": "周杰", "phone": "137 0013 7000", "address": "东园社区 9栋 301",
               "id_number": "110101199003071234", "arrival_date": "2026-03-08", "arrived_from": "武汉",
               "contact_with_case": False, "symptoms": ["cough"], "gatherings": True}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return Settings(**{**settings.model_dump(), "declaration_rate_limit": 3})


async def _declare(client: httpx.AsyncClient, world: World, **changes: Any) -> httpx.Response:
    return await client.post("/api/v1/declarations", json={**DECLARATION, "area_id": world.grid_a.id, **changes})


async def test_anyone_declares_and_the_declaration_waits_in_its_areas_queue(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await _declare(client, world)
    assert response.status_code == 201
    assert response.json()["status"] == "waiting"
    queue = (await client.get(f"/api/v1/declarations?area_id={world.grid_a.id}&status=waiting",
                              headers=world.clin_a)).json()
    assert [d["id"] for d in queue] == [response.json()["id"]]
    assert queue[0]["phone"] == "+8613700137000" and queue[0]["id_number_masked"] == "110***********1234"
    assert queue[0]["symptoms"] == ["cough"] and queue[0]["source"] == "self"
    assert (await client.get("/api/v1/declarations", headers=world.admin_h)).json()[0]["id"] == response.json()["id"]


async def test_the_public_form_is_rate_limited_per_address(client: httpx.AsyncClient, world: World) -> None:
    for n in range(3):
        assert (await _declare(client, world, phone=f"1370013700{n}")).status_code == 201
    refused = await _declare(client, world, phone="13700137009")
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0


async def test_a_declaration_names_a_real_area_and_valid_fields(client: httpx.AsyncClient, world: World) -> None:
    assert (await _declare(client, world, area_id=999999)).status_code == 422
    bad = await _declare(client, world, phone="12", symptoms=["hiccups"])
    assert bad.status_code == 422


async def test_queue_per_role_and_foreign_area(client: httpx.AsyncClient, world: World) -> None:
    ours = (await _declare(client, world)).json()["id"]
    theirs = (await _declare(client, world, area_id=world.grid_b.id, phone="13700137001")).json()["id"]
    assert [d["id"] for d in (await client.get("/api/v1/declarations", headers=world.clin_a)).json()] == [ours]
    assert [d["id"] for d in (await client.get("/api/v1/declarations", headers=world.clin_b)).json()] == [theirs]
    assert len((await client.get("/api/v1/declarations", headers=world.admin_h)).json()) == 2
    foreign = await client.get(f"/api/v1/declarations?area_id={world.grid_b.id}", headers=world.clin_a)
    assert foreign.status_code == 404
    for headers in (world.subj_a, {}):
        assert (await client.get("/api/v1/declarations", headers=headers)).status_code == 401
    # Deciding on another area's declaration looks like no declaration at all.
    assert (await client.post(f"/api/v1/declarations/{theirs}/dismiss", headers=world.clin_a,
                              json={"reason": "x"})).status_code == 404
    assert (await client.post(f"/api/v1/declarations/{theirs}/enrol", headers=world.clin_a,
                              json={"reason": "x"})).status_code == 404
    assert (await client.post(f"/api/v1/declarations/{ours}/enrol", headers=world.subj_a,
                              json={"reason": "x"})).status_code == 401


async def test_enrol_prefills_the_person_and_takes_them_out_of_the_queue(
    client: httpx.AsyncClient, world: World
) -> None:
    declared = (await _declare(client, world)).json()["id"]
    enrolled = await client.post(f"/api/v1/declarations/{declared}/enrol", headers=world.clin_a,
                                 json={"reason": "自武汉返回（自我申报）"})
    assert enrolled.status_code == 201, enrolled.text
    person = enrolled.json()
    assert (person["full_name"], person["phone"], person["grid_id"]) == ("周杰", "+8613700137000", world.grid_a.id)
    assert person["address"] == "东园社区 9栋 301" and person["id_number_masked"] == "110***********1234"
    assert person["last_exposure_date"] == "2026-03-08"  # the arrival counts as the exposure
    assert person["access_url"].startswith("http://homewatch.test/s/")
    assert (await client.get("/api/v1/declarations", headers=world.clin_a)).json() == []
    done = (await client.get("/api/v1/declarations?status=enrolled", headers=world.clin_a)).json()
    assert done[0]["subject_id"] == person["id"]
    again = await client.post(f"/api/v1/declarations/{declared}/enrol", headers=world.clin_a, json={"reason": "x"})
    assert again.status_code == 409


async def test_enrol_refuses_someone_already_under_observation(client: httpx.AsyncClient, world: World) -> None:
    # 王小明 is under observation with this phone; the same name and phone is the same person.
    declared = (await _declare(client, world, full_name="王小明", phone="13800138000", id_number=None)).json()["id"]
    duplicate = await client.post(f"/api/v1/declarations/{declared}/enrol", headers=world.admin_h,
                                  json={"reason": "自我申报"})
    assert duplicate.status_code == 409 and duplicate.json()["error"] == "duplicate"
    assert duplicate.json()["existing_subject_id"] == str(world.subject_a.id)
    assert [d["id"] for d in (await client.get("/api/v1/declarations", headers=world.admin_h)).json()] == [declared]
    anyway = await client.post(f"/api/v1/declarations/{declared}/enrol", headers=world.admin_h,
                               json={"reason": "自我申报", "allow_duplicate": True})
    assert anyway.status_code == 201


async def test_dismiss_with_a_reason(client: httpx.AsyncClient, world: World) -> None:
    declared = (await _declare(client, world)).json()["id"]
    assert (await client.post(f"/api/v1/declarations/{declared}/dismiss", headers=world.clin_a,
                              json={"reason": " "})).status_code == 422
    dismissed = await client.post(f"/api/v1/declarations/{declared}/dismiss", headers=world.clin_a,
                                  json={"reason": "本地常住，无外出史"})
    assert dismissed.status_code == 200
    assert (dismissed.json()["status"], dismissed.json()["dismiss_reason"]) == ("dismissed", "本地常住，无外出史")
    assert (await client.post(f"/api/v1/declarations/{declared}/dismiss", headers=world.clin_a,
                              json={"reason": "again"})).status_code == 409


async def test_census_progress_per_area(client: httpx.AsyncClient, world: World) -> None:
    await _declare(client, world)
    await _declare(client, world, phone="13700137001")
    progress = (await client.get("/api/v1/census/progress", headers=world.clin_a)).json()
    assert progress == [{"area_id": world.grid_a.id, "name": "东园社区", "households_visited": 0, "people_counted": 0,
                         "declarations_waiting": 2}]
    assert len((await client.get("/api/v1/census/progress", headers=world.admin_h)).json()) == 2
    assert (await client.get(f"/api/v1/census/progress?area_id={world.grid_b.id}",
                             headers=world.clin_a)).status_code == 404
