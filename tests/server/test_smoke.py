from __future__ import annotations

import httpx

from tests.factories import World


async def test_healthz_answers_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.json() == {"status": "ok"}


async def test_subject_reports_fever_and_roster_flags_it(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post("/api/v1/readings", json={"temperature_c": 38.6}, headers=world.subj_a)
    assert response.status_code == 201, response.text
    roster = (await client.get("/api/v1/roster", headers=world.clin_a)).json()
    assert roster["items"][0]["full_name"] == "王小明"
    assert roster["items"][0]["flags"][0] == "high_fever"
    assert roster["counts"]["abnormal"] == 1
