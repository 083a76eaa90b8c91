from __future__ import annotations

from datetime import timedelta

import httpx

from tests.conftest import Clock
from tests.factories import World


async def test_not_eligible_before_the_period_ends_and_release_is_409(client: httpx.AsyncClient,
                                                                      world: World) -> None:
    url = f"/api/v1/subjects/{world.subject_a.id}"
    eligibility = (await client.get(f"{url}/release-eligibility", headers=world.clin_a)).json()
    assert eligibility["eligible"] is False
    assert [r["code"] for r in eligibility["reasons"]] == ["period_not_over", "no_recent_reading"]
    assert all(r["message"] for r in eligibility["reasons"])
    refused = await client.post(f"{url}/release", json={"note": "done"}, headers=world.admin_h)
    assert refused.status_code == 409
    assert [r["code"] for r in refused.json()["reasons"]] == ["period_not_over", "no_recent_reading"]
    assert (await client.get(url, headers=world.admin_h)).json()["status"] == "active"


async def test_eligible_after_fourteen_quiet_days_and_released(client: httpx.AsyncClient, world: World,
                                                              clock: Clock) -> None:
    clock.now += timedelta(days=14)
    await client.post("/api/v1/readings", headers=world.subj_a, json={"temperature_c": 36.5})
    url = f"/api/v1/subjects/{world.subject_a.id}"
    assert (await client.get(f"{url}/release-eligibility", headers=world.admin_h)).json() == {
        "eligible": True, "reasons": []}
    roster = (await client.get("/api/v1/roster", headers=world.clin_a)).json()
    assert "ready_for_release" in roster["items"][0]["flags"]
    released = await client.post(f"{url}/release", json={"note": "期满解除"}, headers=world.admin_h)
    assert released.status_code == 200
    body = released.json()
    assert body["status"] == "released" and body["released_at"].startswith("2026-03-24")
    assert body["release_override"] is False
    # Released people still see their history but cannot report.
    assert len((await client.get("/api/v1/me/readings", headers=world.subj_a)).json()) == 1
    late = await client.post("/api/v1/readings", headers=world.subj_a, json={"temperature_c": 36.5})
    assert late.status_code == 409
    assert (await client.post(f"{url}/release", json={}, headers=world.admin_h)).status_code == 409


async def test_recent_fever_and_open_alert_block_release(client: httpx.AsyncClient, world: World,
                                                         clock: Clock) -> None:
    clock.now += timedelta(days=14)
    await client.post("/api/v1/readings", headers=world.subj_a, json={"temperature_c": 37.5})
    clock.now += timedelta(hours=1)
    await client.post("/api/v1/readings", headers=world.subj_a, json={"temperature_c": 36.5})
    reasons = (await client.get(f"/api/v1/subjects/{world.subject_a.id}/release-eligibility",
                                headers=world.admin_h)).json()["reasons"]
    assert [r["code"] for r in reasons] == ["recent_fever", "open_alerts"]


async def test_override_needs_a_note_and_is_audited(client: httpx.AsyncClient, world: World) -> None:
    url = f"/api/v1/subjects/{world.subject_a.id}/release"
    no_note = await client.post(url, json={"override": True}, headers=world.admin_h)
    assert no_note.status_code == 422
    done = await client.post(url, json={"override": True, "note": "转院治疗"}, headers=world.admin_h)
    assert done.status_code == 200 and done.json()["release_override"] is True
    audit = (await client.get("/api/v1/audit", params={"subject_id": str(world.subject_a.id),
                                                       "action": "subject.released"}, headers=world.admin_h)).json()
    assert len(audit) == 1
    assert audit[0]["detail"]["override"] is True
    assert audit[0]["detail"]["unmet"] == ["period_not_over", "no_recent_reading"]
    assert audit[0]["actor_name"] == "admin"


async def test_only_admin_releases(client: httpx.AsyncClient, world: World) -> None:
    url = f"/api/v1/subjects/{world.subject_a.id}/release"
    assert (await client.post(url, json={"override": True, "note": "x"}, headers=world.clin_a)).status_code == 403
    assert (await client.get(f"/api/v1/subjects/{world.subject_b.id}/release-eligibility",
                             headers=world.clin_a)).status_code == 404
