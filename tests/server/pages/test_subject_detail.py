from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from server.context import AppContext
from server.models import AuditEntry, Subject
from tests.factories import World, enrol
from tests.server.pages.conftest import post_form, sign_in_staff, sign_in_subject, text


async def test_clinician_cannot_open_a_person_outside_their_grids(client: httpx.AsyncClient, app_ctx: AppContext,
                                                                  world: World) -> None:
    sign_in_staff(client, app_ctx, world.clinician_a)
    response = await client.get(f"/subjects/{world.subject_b.id}")
    assert response.status_code == 404
    assert "您负责的网格中没有此人。" in response.text
    assert (await client.get("/subjects/not-a-uuid")).status_code == 404


async def test_detail_shows_the_record_masked_and_audits_the_look(client: httpx.AsyncClient, app_ctx: AppContext,
                                                                  world: World) -> None:
    async with app_ctx.db.session() as session:
        subject = await session.get(Subject, world.subject_a.id)
        assert subject is not None
        subject.id_number = "110101199003071234"
    await client.post("/api/v1/readings", json={"temperature_c": 37.8, "symptoms": ["cough"]},
                      headers=world.subj_a)
    sign_in_staff(client, app_ctx, world.clinician_a)
    page = await client.get(f"/subjects/{world.subject_a.id}")
    assert page.status_code == 200
    shown = text(page)
    assert "110***********1234" in shown and "110101199003071234" not in page.text
    assert "37.8 °C" in shown and "咳嗽" in shown
    assert "解除医学观察由管理员操作。" in shown
    assert "观察期到 2026年3月23日 为止。" in shown
    assert "<svg" in page.text
    async with app_ctx.db.session() as session:
        actions = (await session.scalars(select(AuditEntry.action).where(
            AuditEntry.subject_id == world.subject_a.id))).all()
    assert "subject.viewed" in actions


async def test_acknowledging_an_alert_and_saving_a_note(client: httpx.AsyncClient, app_ctx: AppContext,
                                                       world: World) -> None:
    await client.post("/api/v1/readings", json={"temperature_c": 38.6}, headers=world.subj_a)
    alert_id = (await client.get("/api/v1/alerts", headers=world.clin_a)).json()[0]["id"]
    sign_in_staff(client, app_ctx, world.clinician_a)
    detail = f"/subjects/{world.subject_a.id}"
    response = await post_form(client, detail, f"{detail}/alerts/{alert_id}/ack", {"note": "已电话随访"})
    assert response.status_code == 303
    page = await client.get(response.headers["location"])
    assert "提醒已处理。" in page.text and "已电话随访" in page.text and "没有未处理的提醒。" in page.text
    again = await post_form(client, detail, f"{detail}/alerts/{alert_id}/ack", {"note": ""})
    assert "already_acknowledged" in again.headers["location"]

    response = await post_form(client, detail, f"{detail}/note", {"clinician_note": "独居，需每日电话"})
    page = await client.get(response.headers["location"])
    assert "备注已保存。" in page.text and "独居，需每日电话" in page.text


async def test_release_needs_an_admin_and_explains_unmet_rules(client: httpx.AsyncClient, app_ctx: AppContext,
                                                               world: World) -> None:
    detail = f"/subjects/{world.subject_a.id}"
    sign_in_staff(client, app_ctx, world.clinician_a)
    refused = await post_form(client, detail, f"{detail}/release", {"note": ""})
    assert refused.status_code == 403

    sign_in_staff(client, app_ctx, world.admin)
    page = await client.get(detail)
    assert "观察期到 2026年3月23日 为止。" in text(page)
    response = await post_form(client, detail, f"{detail}/release", {"note": ""})
    assert response.status_code == 409
    assert "未解除：下列条件尚未满足" in response.text
    assert "最近 24 小时内没有体温记录。" in response.text
    no_note = await post_form(client, detail, f"{detail}/release", {"override": "1", "note": " "})
    assert no_note.status_code == 422
    assert "不符合规则的解除需要在备注中说明原因。" in no_note.text
    released = await post_form(client, detail, f"{detail}/release", {"override": "1", "note": "转院"})
    assert released.status_code == 303
    page = await client.get(released.headers["location"])
    assert "王小明已解除医学观察。" in page.text and "不符合规则" in page.text
    async with app_ctx.db.session() as session:
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "subject.released"))
    assert entry is not None and entry.detail["override"] is True


async def test_an_eligible_person_is_released_without_override(client: httpx.AsyncClient, app_ctx: AppContext,
                                                               world: World) -> None:
    enrolled = await enrol(app_ctx, world.grid_a, name="陈期满", phone="13600000000",
                           start_date=(app_ctx.now() - timedelta(days=15)).date())
    await client.post(f"/api/v1/subjects/{enrolled.id}/readings", json={"temperature_c": 36.5},
                      headers=world.clin_a)
    sign_in_staff(client, app_ctx, world.admin)
    detail = f"/subjects/{enrolled.id}"
    page = await client.get(detail)
    assert "已满足全部解除条件。" in page.text
    response = await post_form(client, detail, f"{detail}/release", {"note": "观察期满"})
    assert response.status_code == 303
    assert "陈期满已解除医学观察。" in (await client.get(response.headers["location"])).text


async def test_the_record_page_corrects_and_extends_and_the_person_sees_why(
        client: httpx.AsyncClient, app_ctx: AppContext, world: World) -> None:
    detail = f"/subjects/{world.subject_a.id}"
    sign_in_staff(client, app_ctx, world.admin)
    response = await post_form(client, detail, f"{detail}/edit", {
        "full_name": "王晓明", "phone": "139 0000 1111", "address": "", "id_number": "",
        "date_of_birth": "1948-05-02", "language": "", "observation_type": "home"})
    assert response.status_code == 303
    page = await client.get(response.headers["location"])
    assert "信息已更正。" in text(page) and "王晓明" in text(page) and "139 0000 1111" in text(page)

    bad = await post_form(client, detail, f"{detail}/edit", {"full_name": "王晓明", "phone": "12ab",
                                                              "observation_type": "home"})
    assert bad.status_code == 422 and "手机号：" in text(bad)

    response = await post_form(client, detail, f"{detail}/extend", {"days": "7", "reason": "家人确诊",
                                                                    "last_exposure_date": ""})
    assert response.status_code == 303
    page = await client.get(response.headers["location"])
    assert "观察期现延至 2026年3月30日。" in text(page) and "已延长：家人确诊" in text(page)
    refused = await post_form(client, detail, f"{detail}/extend", {"days": "", "reason": "x",
                                                                   "last_exposure_date": "2026-03-01"})
    assert refused.status_code == 422 and "并不晚于原定结束日期" in text(refused)

    client.cookies.clear()
    sign_in_subject(client, app_ctx, world.subject_a)
    me = await client.get("/me")
    assert "您的观察期已延长至 2026年3月30日。原因：家人确诊" in text(me)


async def test_a_clinician_sees_only_the_contact_fields_of_the_correction_form(
        client: httpx.AsyncClient, app_ctx: AppContext, world: World) -> None:
    detail = f"/subjects/{world.subject_a.id}"
    sign_in_staff(client, app_ctx, world.clinician_a)
    page = await client.get(detail)
    form = page.text[page.text.index('data-testid="edit-form"'):]
    form = form[:form.index("</form>")]
    assert 'name="phone"' in form and 'name="address"' in form and 'name="language"' in form
    assert 'name="full_name"' not in form and 'name="id_number"' not in form
    # A hand-made post of a field the form does not offer changes nothing.
    response = await post_form(client, detail, f"{detail}/edit", {"phone": "13700137000", "full_name": "别人"})
    assert response.status_code == 303
    async with app_ctx.db.session() as session:
        subject = await session.get(Subject, world.subject_a.id)
        assert subject is not None and subject.full_name == "王小明" and subject.phone == "+8613700137000"


async def test_the_record_page_records_actions_and_tests_and_shows_the_course(
        client: httpx.AsyncClient, app_ctx: AppContext, world: World) -> None:
    detail = f"/subjects/{world.subject_a.id}"
    sign_in_staff(client, app_ctx, world.clinician_a)
    response = await post_form(client, detail, f"{detail}/actions", {"kind": "suspected_case", "note": "同事确诊",
                                                                     "at": ""})
    assert response.status_code == 303
    response = await post_form(client, detail, f"{detail}/tests", {"kind": "nucleic_acid", "result": "pending",
                                                                   "sampled_at": "2026-03-10T08:00", "lab": "区疾控"})
    assert response.status_code == 303
    page = await client.get(response.headers["location"])
    shown = text(page)
    assert "检测已记录。" in shown and "疑似病例" in shown and "等待检测结果" in shown
    timeline = page.text[page.text.index('data-testid="timeline"'):]
    assert "疑似病例" in timeline and "核酸检测：等待结果" in timeline
    test_id = page.text.split(f"{detail}/tests/")[1].split('"')[0]
    response = await post_form(client, detail, f"{detail}/tests/{test_id}", {"result": "negative"})
    assert response.status_code == 303
    future = await post_form(client, detail, f"{detail}/actions", {"kind": "other", "at": "2026-03-12T08:00"})
    assert future.status_code == 422 and "处置时间不能晚于现在。" in text(future)
    closed = await post_form(client, detail, f"{detail}/actions", {"kind": "hospitalized", "at": ""})
    page = await client.get(closed.headers["location"])
    assert "已结案 · 已住院" in text(page)
    client.cookies.clear()
    sign_in_subject(client, app_ctx, world.subject_a)
    assert "您的居家观察已结束" in text(await client.get("/me"))


async def test_an_admin_readmits_a_released_person_from_the_record(client: httpx.AsyncClient, app_ctx: AppContext,
                                                                   world: World) -> None:
    await client.post(f"/api/v1/subjects/{world.subject_a.id}/release", json={"override": True, "note": "转院"},
                      headers=world.admin_h)
    detail = f"/subjects/{world.subject_a.id}"
    sign_in_staff(client, app_ctx, world.admin)
    page = await client.get(detail)
    assert f'href="{detail}/certificate"' in page.text
    response = await post_form(client, detail, f"{detail}/readmit", {"reason": "家人确诊", "last_exposure_date": ""})
    assert response.status_code == 303
    page = await client.get(response.headers["location"])
    assert "已重新纳入观察" in text(page) and f'href="{detail}/certificate"' not in page.text


async def test_sites_are_added_on_the_summary_with_their_occupancy(client: httpx.AsyncClient, app_ctx: AppContext,
                                                                   world: World) -> None:
    sign_in_staff(client, app_ctx, world.admin)
    response = await post_form(client, "/admin", "/admin/sites", {"name": "如家酒店", "address": "滨江路 8 号"})
    assert response.status_code == 303
    again = await post_form(client, "/admin", "/admin/sites", {"name": "如家酒店", "address": ""})
    assert again.status_code == 409 and "已有名为“如家酒店”的集中隔离点。" in text(again)
    blank = await post_form(client, "/admin", "/admin/sites", {"name": " ", "address": ""})
    assert blank.status_code == 422
    page = await client.get("/admin")
    assert "如家酒店" in text(page) and "滨江路 8 号" in text(page)
