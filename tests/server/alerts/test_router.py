from __future__ import annotations

import httpx

from server.alerts.service import request_callback
from tests.factories import World


async def test_fever_opens_alert_and_clinician_acknowledges_it(client: httpx.AsyncClient, world: World) -> None:
    reading = (await client.post("/api/v1/readings", headers=world.subj_a, json={"temperature_c": 38.6})).json()
    alerts = (await client.get("/api/v1/alerts", params={"status": "open"}, headers=world.clin_a)).json()
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["kind"] == "high_fever" and alert["reading_id"] == reading["id"]
    assert alert["subject_name"] == "王小明" and alert["temperature_c"] == 38.6
    ack = await client.post(f"/api/v1/alerts/{alert['id']}/ack", json={"note": "电话随访，已安排就医"},
                            headers=world.clin_a)
    assert ack.status_code == 200
    assert ack.json()["status"] == "acknowledged" and ack.json()["note"] == "电话随访，已安排就医"
    assert ack.json()["acknowledged_by"] == world.clinician_a.id
    assert (await client.get("/api/v1/alerts", params={"status": "open"}, headers=world.clin_a)).json() == []
    again = await client.post(f"/api/v1/alerts/{alert['id']}/ack", json={"note": ""}, headers=world.clin_a)
    assert again.status_code == 409
    subject = (await client.get(f"/api/v1/subjects/{world.subject_a.id}", headers=world.clin_a)).json()
    assert subject["open_alerts"] == 0


async def test_normal_reading_opens_no_alert_symptoms_do(client: httpx.AsyncClient, world: World) -> None:
    await client.post("/api/v1/readings", headers=world.subj_a, json={"temperature_c": 37.2})
    assert (await client.get("/api/v1/alerts", headers=world.clin_a)).json() == []
    await client.post("/api/v1/readings", headers=world.subj_a, json={"temperature_c": 36.5, "symptoms": ["cough"]})
    alerts = (await client.get("/api/v1/alerts", headers=world.clin_a)).json()
    assert [(a["kind"], a["symptoms"]) for a in alerts] == [("symptoms", ["cough"])]


async def test_foreign_clinician_neither_sees_nor_acknowledges(client: httpx.AsyncClient, world: World) -> None:
    await client.post("/api/v1/readings", headers=world.subj_a, json={"temperature_c": 38.0})
    alert_id = (await client.get("/api/v1/alerts", headers=world.clin_a)).json()[0]["id"]
    assert (await client.get("/api/v1/alerts", headers=world.clin_b)).json() == []
    response = await client.post(f"/api/v1/alerts/{alert_id}/ack", json={"note": "x"}, headers=world.clin_b)
    assert response.status_code == 404
    still_open = (await client.get("/api/v1/alerts", params={"status": "open"}, headers=world.admin_h)).json()
    assert [a["id"] for a in still_open] == [alert_id]


async def test_an_alert_opened_by_a_reading_is_audited_after_the_reading(client: httpx.AsyncClient,
                                                                         world: World) -> None:
    await client.post("/api/v1/readings", headers=world.subj_a, json={"temperature_c": 38.6})
    alert = (await client.get("/api/v1/alerts", headers=world.clin_a)).json()[0]
    entries = (await client.get("/api/v1/audit", params={"subject_id": str(world.subject_a.id)},
                                headers=world.admin_h)).json()
    opened = [e for e in entries if e["action"] == "alert.opened"]
    assert [(e["actor_kind"], e["actor_name"], e["detail"]["alert_id"], e["detail"]["kind"]) for e in opened] == [
        ("subject", "王小明", alert["id"], "high_fever")]
    actions = [e["action"] for e in entries]
    assert actions.index("alert.opened") < actions.index("reading.created")  # newest first


async def test_a_callback_request_is_a_flag_ranked_before_missed_until_a_clinician_handles_it(
        client: httpx.AsyncClient, world: World) -> None:
    # subject_a has a normal reading, subject_b (another grid) none: the admin's roster ranks the person
    # who asked to be called above both, with a flag of its own and a count in the first group.
    await client.post("/api/v1/readings", headers=world.subj_a, json={"temperature_c": 36.6})
    async with world.ctx.db.session() as session:
        await request_callback(session, subject_id=world.subject_b.id, now=world.ctx.now(),
                               rules=world.ctx.settings.rules)

    roster = (await client.get("/api/v1/roster", headers=world.admin_h)).json()
    first = roster["items"][0]
    assert first["subject_id"] == str(world.subject_b.id) and first["status"] == "abnormal"
    assert "callback_requested" in first["flags"]
    assert roster["counts"]["abnormal"] == 1
    assert all("callback_requested" not in item["flags"] for item in roster["items"][1:])

    alert = (await client.get("/api/v1/alerts", params={"status": "open"}, headers=world.clin_b)).json()[0]
    assert alert["kind"] == "callback_request"
    assert (await client.post(f"/api/v1/alerts/{alert['id']}/ack", json={"note": "已回电"},
                              headers=world.clin_b)).status_code == 200
    roster = (await client.get("/api/v1/roster", headers=world.clin_b)).json()
    [item] = roster["items"]
    assert "callback_requested" not in item["flags"] and item["status"] != "abnormal"
    assert roster["counts"]["abnormal"] == 0
