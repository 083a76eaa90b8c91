from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx

from tests.conftest import Clock
from tests.factories import World


async def test_subject_reports_reading_which_fills_the_open_window(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post("/api/v1/readings", headers=world.subj_a,
                                 json={"temperature_c": 36.64, "method": "armpit"})
    assert response.status_code == 201
    body = response.json()
    assert body["temperature_c"] == 36.6
    assert body["source"] == "self" and body["classification"] == "normal"
    assert body["window_start"].startswith("2026-03-09T23:00:00")  # 07:00 Shanghai
    me = (await client.get("/api/v1/me", headers=world.subj_a)).json()
    assert [w["state"] for w in me["windows_today"]] == ["done", "upcoming"]
    assert me["last_reading"]["temperature_c"] == 36.6


async def test_same_client_id_twice_is_stored_once(client: httpx.AsyncClient, world: World) -> None:
    reading_id = str(uuid.uuid4())
    first = await client.post("/api/v1/readings", headers=world.subj_a,
                              json={"id": reading_id, "temperature_c": 38.0})
    second = await client.post("/api/v1/readings", headers=world.subj_a,
                               json={"id": reading_id, "temperature_c": 38.0})
    assert first.status_code == 201 and second.status_code == 200
    assert second.json() == first.json()
    history = (await client.get("/api/v1/me/readings", headers=world.subj_a)).json()
    assert [r["id"] for r in history] == [reading_id]
    alerts = (await client.get("/api/v1/alerts", headers=world.clin_a)).json()
    assert len(alerts) == 1


async def test_another_subject_cannot_reuse_a_reading_id(client: httpx.AsyncClient, world: World) -> None:
    reading_id = str(uuid.uuid4())
    await client.post("/api/v1/readings", headers=world.subj_a, json={"id": reading_id, "temperature_c": 36.5})
    response = await client.post("/api/v1/readings", headers=world.subj_b,
                                 json={"id": reading_id, "temperature_c": 36.5})
    assert response.status_code == 409
    assert (await client.get("/api/v1/me/readings", headers=world.subj_b)).json() == []


async def test_implausible_values_are_refused_with_a_reason(client: httpx.AsyncClient, world: World) -> None:
    for value in (33.9, 43.1, "abc"):
        response = await client.post("/api/v1/readings", headers=world.subj_a, json={"temperature_c": value})
        assert response.status_code == 422
        assert response.json()["code"] == "implausible_temperature"
        assert "measure again" in response.json()["detail"]
    assert (await client.get("/api/v1/me/readings", headers=world.subj_a)).json() == []


async def test_unknown_symptom_and_other_without_note_are_refused(client: httpx.AsyncClient, world: World) -> None:
    unknown = await client.post("/api/v1/readings", headers=world.subj_a,
                                json={"temperature_c": 36.5, "symptoms": ["hiccups"]})
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_symptom"
    assert "hiccups" in unknown.json()["detail"]
    other = await client.post("/api/v1/readings", headers=world.subj_a,
                              json={"temperature_c": 36.5, "symptoms": ["other"]})
    assert other.status_code == 422 and other.json()["code"] == "other_needs_note"
    ok = await client.post("/api/v1/readings", headers=world.subj_a,
                           json={"temperature_c": 36.5, "symptoms": ["other", "cough"], "note": "眼睛痛"})
    assert ok.status_code == 201 and ok.json()["symptoms"] == ["cough", "other"]


async def test_future_taken_at_is_refused_but_five_minutes_of_skew_is_fine(
    client: httpx.AsyncClient, world: World, clock: Clock
) -> None:
    too_late = (clock.now + timedelta(minutes=6)).isoformat()
    slightly = (clock.now + timedelta(minutes=4)).isoformat()
    response = await client.post("/api/v1/readings", headers=world.subj_a,
                                 json={"temperature_c": 36.5, "taken_at": too_late})
    assert response.status_code == 422 and response.json()["code"] == "future_taken_at"
    ok = await client.post("/api/v1/readings", headers=world.subj_a, json={"temperature_c": 36.5, "taken_at": slightly})
    assert ok.status_code == 201


async def test_taken_at_without_offset_is_refused(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post("/api/v1/readings", headers=world.subj_a,
                                 json={"temperature_c": 36.5, "taken_at": "2026-03-10T09:00:00"})
    assert response.status_code == 422


async def test_reading_outside_windows_is_kept_but_fills_none(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post("/api/v1/readings", headers=world.subj_a,
                                 json={"temperature_c": 36.5, "taken_at": "2026-03-10T06:30:00+08:00"})
    assert response.status_code == 201 and response.json()["window_start"] is None
    me = (await client.get("/api/v1/me", headers=world.subj_a)).json()
    assert me["windows_today"][0]["state"] == "open"


async def test_clinician_enters_reading_in_scope_only(client: httpx.AsyncClient, world: World) -> None:
    url_a = f"/api/v1/subjects/{world.subject_a.id}/readings"
    entered = await client.post(url_a, headers=world.clin_a, json={"temperature_c": 37.0, "method": "ear"})
    assert entered.status_code == 201 and entered.json()["source"] == "clinician"
    foreign = await client.post(f"/api/v1/subjects/{world.subject_b.id}/readings", headers=world.clin_a,
                                json={"temperature_c": 37.0})
    assert foreign.status_code == 404
    assert (await client.post(url_a, headers=world.admin_h, json={"temperature_c": 37.0})).status_code == 403
    history = (await client.get(url_a, headers=world.clin_a)).json()
    assert [r["temperature_c"] for r in history] == [37.0]
    foreign_history = await client.get(f"/api/v1/subjects/{world.subject_b.id}/readings", headers=world.clin_a)
    assert foreign_history.status_code == 404


async def test_subject_sees_only_their_own_history(client: httpx.AsyncClient, world: World) -> None:
    await client.post("/api/v1/readings", headers=world.subj_a, json={"temperature_c": 36.5})
    await client.post("/api/v1/readings", headers=world.subj_b, json={"temperature_c": 36.9})
    mine = (await client.get("/api/v1/me/readings", headers=world.subj_b)).json()
    assert [r["temperature_c"] for r in mine] == [36.9]


async def test_retry_racing_its_first_try_is_stored_once(client: httpx.AsyncClient, world: World) -> None:
    # A client whose first try timed out retries while that try is still running: both carry one id.
    reading_id = str(uuid.uuid4())
    body = {"id": reading_id, "temperature_c": 38.6}
    paths = [("/api/v1/readings", world.subj_a), (f"/api/v1/subjects/{world.subject_a.id}/readings", world.clin_a)]
    for path, headers in paths:
        body["id"] = reading_id = str(uuid.uuid4())
        answers = await asyncio.gather(*(client.post(path, headers=headers, json=body) for _ in range(3)))
        assert sorted(a.status_code for a in answers) == [200, 200, 201]
        assert {a.json()["id"] for a in answers} == {reading_id}
    history = (await client.get("/api/v1/me/readings", headers=world.subj_a)).json()
    assert len(history) == 2
    alerts = (await client.get("/api/v1/alerts", headers=world.clin_a)).json()
    assert sorted(a["reading_id"] for a in alerts) == sorted(r["id"] for r in history)
