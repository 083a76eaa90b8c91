from __future__ import annotations

import httpx

from tests.factories import World


async def test_writes_and_staff_reads_are_audited(client: httpx.AsyncClient, world: World) -> None:
    await client.post("/api/v1/readings", headers=world.subj_a, json={"temperature_c": 36.5})
    await client.get(f"/api/v1/subjects/{world.subject_a.id}", headers=world.clin_a)
    await client.get(f"/api/v1/subjects/{world.subject_a.id}/readings", headers=world.clin_a)
    entries = (await client.get("/api/v1/audit", params={"subject_id": str(world.subject_a.id)},
                                headers=world.admin_h)).json()
    actions = [(e["action"], e["actor_kind"], e["actor_name"]) for e in entries]
    assert actions[:3] == [
        ("subject.readings_viewed", "staff", "doc-a"),
        ("subject.viewed", "staff", "doc-a"),
        ("reading.created", "subject", "王小明"),
    ]
    assert actions[-1][0] == "subject.enrolled"


async def test_refused_read_leaves_no_trace_and_audit_is_admin_only(client: httpx.AsyncClient, world: World) -> None:
    await client.get(f"/api/v1/subjects/{world.subject_b.id}", headers=world.clin_a)
    entries = (await client.get("/api/v1/audit", params={"subject_id": str(world.subject_b.id)},
                                headers=world.admin_h)).json()
    assert [e["action"] for e in entries] == ["subject.enrolled"]
    assert (await client.get("/api/v1/audit", headers=world.clin_a)).status_code == 403
