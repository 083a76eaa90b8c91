"""Release certificates: issued at release, verified publicly with nothing but what a checkpoint needs,
revoked by readmission, expired by erasure."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from server.context import AppContext
from server.models import AuditEntry
from server.subjects.retention import erase_due
from tests.conftest import Clock
from tests.factories import World


async def release(client: httpx.AsyncClient, world: World, subject_id: object) -> None:
    response = await client.post(f"/api/v1/subjects/{subject_id}/release", json={"override": True,
                                                                               "note": "转定点医院"},
                                 headers=world.admin_h)
    assert response.status_code == 200, response.text


async def certificate(client: httpx.AsyncClient, world: World, headers: dict[str, str] | None = None,
                      subject_id: object = None) -> httpx.Response:
    return await client.get(f"/api/v1/subjects/{subject_id or world.subject_a.id}/certificate",
                            headers=headers or world.admin_h)


async def test_release_issues_a_certificate_that_verifies_with_a_masked_name(client: httpx.AsyncClient,
                                                                            world: World) -> None:
    assert (await certificate(client, world)).status_code == 404
    await release(client, world, world.subject_a.id)
    cert = await certificate(client, world, world.clin_a)
    assert cert.status_code == 200
    body = cert.json()
    assert body["released_on"] == "2026-03-10" and body["start_date"] == "2026-03-10"
    assert body["verify_url"].startswith("http://homewatch.test/verify/")
    token = body["verify_url"].rsplit("/", 1)[1]
    assert len(token) >= 22

    verified = await client.get(f"/api/v1/verify/{token}")  # no sign-in
    assert verified.status_code == 200
    assert verified.json() == {"status": "valid", "masked_name": "王*明", "released_on": "2026-03-10",
                               "issuer": verified.json()["issuer"]}
    assert "王小明" not in verified.text and "13800138000" not in verified.text
    page = await client.get(f"/verify/{token}")
    assert page.status_code == 200 and "王*明" in page.text and "王小明" not in page.text
    assert 'data-status="valid"' in page.text


async def test_unknown_or_foreign_tokens_say_nothing(client: httpx.AsyncClient, world: World) -> None:
    await release(client, world, world.subject_a.id)
    token = (await certificate(client, world)).json()["verify_url"].rsplit("/", 1)[1]
    for guess in (token[:-1] + ("A" if token[-1] != "A" else "B"), "x", "0" * 200):
        response = await client.get(f"/api/v1/verify/{guess}")
        assert response.status_code == 404
        assert "王" not in response.text
    page = await client.get("/verify/not-a-token")
    assert page.status_code == 404 and 'data-status="unknown"' in page.text
    # A clinician of another grid cannot fetch the certificate.
    assert (await certificate(client, world, world.clin_b)).status_code == 404


async def test_readmission_revokes_the_certificate_and_restarts_observation(client: httpx.AsyncClient,
                                                                           world: World, app_ctx: AppContext) -> None:
    await release(client, world, world.subject_a.id)
    token = (await certificate(client, world)).json()["verify_url"].rsplit("/", 1)[1]
    url = f"/api/v1/subjects/{world.subject_a.id}/readmit"
    assert (await client.post(url, json={"reason": "家人确诊"}, headers=world.clin_a)).status_code == 403
    response = await client.post(url, json={"reason": "家人确诊", "last_exposure_date": "2026-03-09"},
                                 headers=world.admin_h)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "active" and body["planned_end_date"] == "2026-03-23"
    assert body["end_date_reason"] == "家人确诊" and body["released_at"] is None
    assert (await client.get(f"/api/v1/verify/{token}")).json()["status"] == "revoked"
    assert (await certificate(client, world)).status_code == 404
    again = await client.post(url, json={"reason": "x"}, headers=world.admin_h)
    assert again.status_code == 409
    # Released again: a new certificate, the old one stays revoked.
    await release(client, world, world.subject_a.id)
    new_token = (await certificate(client, world)).json()["verify_url"].rsplit("/", 1)[1]
    assert new_token != token
    assert (await client.get(f"/api/v1/verify/{new_token}")).json()["status"] == "valid"
    assert (await client.get(f"/api/v1/verify/{token}")).json()["status"] == "revoked"
    async with app_ctx.db.session() as session:
        actions = (await session.scalars(select(AuditEntry.action).where(
            AuditEntry.subject_id == world.subject_a.id))).all()
    assert "subject.readmitted" in actions


async def test_staff_print_the_certificate_and_the_person_sees_their_copy(client: httpx.AsyncClient,
                                                                         world: World, app_ctx: AppContext) -> None:
    from tests.server.pages.conftest import sign_in_staff, sign_in_subject

    await release(client, world, world.subject_a.id)
    sign_in_staff(client, app_ctx, world.clinician_a)
    page = await client.get(f"/subjects/{world.subject_a.id}/certificate")
    assert page.status_code == 200
    assert "解除医学观察告知书" in page.text and "王小明" in page.text and "<svg" in page.text
    assert (await client.get(f"/subjects/{world.subject_b.id}/certificate")).status_code == 404
    client.cookies.clear()
    sign_in_subject(client, app_ctx, world.subject_a)
    me = await client.get("/me")
    assert 'href="/me/certificate"' in me.text
    mine = await client.get("/me/certificate")
    assert mine.status_code == 200 and "解除医学观察告知书" in mine.text


async def test_erasure_after_retention_keeps_a_pseudonymous_record(client: httpx.AsyncClient, world: World,
                                                                   app_ctx: AppContext, clock: Clock) -> None:
    await client.post("/api/v1/readings", json={"temperature_c": 36.6, "note": "住在3号楼"}, headers=world.subj_a)
    await client.patch(f"/api/v1/subjects/{world.subject_a.id}", json={"address": "东园 3-201",
                                                                      "id_number": "110101199003071234"},
                       headers=world.admin_h)
    await release(client, world, world.subject_a.id)
    token = (await certificate(client, world)).json()["verify_url"].rsplit("/", 1)[1]
    settings = app_ctx.settings
    # Not yet: 29 days after release.
    assert await erase_due(app_ctx.db, now=clock.now + timedelta(days=29), retention_days=30,
                           media_dir=settings.media_dir) == 0
    assert await erase_due(app_ctx.db, now=clock.now + timedelta(days=30), retention_days=30,
                           media_dir=settings.media_dir) == 1
    record = (await client.get(f"/api/v1/subjects/{world.subject_a.id}", headers=world.admin_h)).json()
    assert record["full_name"].startswith("#") and record["phone"] == "" and record["address"] is None
    assert record["id_number_masked"] is None and record["release_note"] is None
    readings = (await client.get(f"/api/v1/subjects/{world.subject_a.id}/readings",
                                 headers=world.admin_h)).json()
    assert [r["temperature_c"] for r in readings] == [36.6] and readings[0]["note"] is None
    verified = (await client.get(f"/api/v1/verify/{token}")).json()
    assert verified["status"] == "expired" and verified["masked_name"] is None
    async with app_ctx.db.session() as session:
        entries = (await session.scalars(select(AuditEntry).where(AuditEntry.action.in_(
            ["subject.corrected", "subjects.erased"])).order_by(AuditEntry.id))).all()
    corrected, erased = entries
    assert corrected.detail["changes"] == {"address": ["…", "…"], "id_number": ["…", "…"]}
    assert erased.detail["count"] == 1 and erased.actor_kind == "system"
    # Person B is still under observation and untouched; a second run erases nothing more.
    assert await erase_due(app_ctx.db, now=clock.now + timedelta(days=60), retention_days=30,
                           media_dir=settings.media_dir) == 0
    assert (await client.get(f"/api/v1/subjects/{world.subject_b.id}", headers=world.admin_h)).json()[
        "full_name"] == "李华"


async def test_zero_retention_erases_at_the_next_run(client: httpx.AsyncClient, world: World,
                                                     app_ctx: AppContext, clock: Clock) -> None:
    await release(client, world, world.subject_b.id)
    assert await erase_due(app_ctx.db, now=clock.now, retention_days=0, media_dir=app_ctx.settings.media_dir) == 1


async def test_the_erasure_query_agrees_with_the_rule(app_ctx: AppContext, world: World, clock: Clock) -> None:
    """The SQL twin of monitoring.course.erasure_due: the same cases, to the second, released or closed."""
    from monitoring.course import erasure_due
    from server.models import CLOSED, RELEASED, Subject
    from tests.factories import enrol

    now = clock.now + timedelta(days=40)
    ended = {}
    offsets = [timedelta(days=29, hours=23, minutes=59, seconds=59), timedelta(days=30),
               timedelta(days=30, seconds=1), timedelta(days=45), timedelta(days=1)]
    for index, offset in enumerate(offsets):
        person = await enrol(app_ctx, world.grid_a, name=f"测试{index}", phone=f"1370000000{index}")
        async with app_ctx.db.session() as session:
            subject = await session.get_one(Subject, person.id)
            if index % 2:
                subject.state, subject.closed_at, subject.outcome = CLOSED, now - offset, "hospitalized"
            else:
                subject.state, subject.released_at = RELEASED, now - offset
        ended[person.id] = now - offset
    await erase_due(app_ctx.db, now=now, retention_days=30, media_dir=app_ctx.settings.media_dir)
    async with app_ctx.db.session() as session:
        erased = set((await session.scalars(select(Subject.id).where(Subject.erased_at.is_not(None)))).all())
    assert erased == {sid for sid, at in ended.items() if erasure_due(at, now, 30)}
    assert len(erased) == 3
