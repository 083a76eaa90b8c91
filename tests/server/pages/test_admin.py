from __future__ import annotations

import re

import httpx

from server.context import AppContext
from tests.factories import World
from tests.server.pages.conftest import post_form, sign_in_staff, text

LINK_RE = re.compile(r'class="card-url"><a href="(http://homewatch\.test/s/[^"]+)"')


async def test_enrolment_shows_the_link_and_its_qr_code_and_the_link_works(
        client: httpx.AsyncClient, app_ctx: AppContext, world: World) -> None:
    sign_in_staff(client, app_ctx, world.admin)
    response = await post_form(client, "/admin/enrol", "/admin/enrol", {
        "full_name": "周新", "phone": "135 1234 5678", "grid_id": str(world.grid_a.id),
        "observation_type": "centralized", "reason": "自外省返回", "start_date": "", "duration_days": "14",
        "id_number": "", "date_of_birth": "", "address": "", "language": "",
    })
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert "周新已登记。" in response.text
    assert re.search(r'<svg [^>]*class="qr"', response.text)
    link = LINK_RE.search(response.text)
    assert link, response.text
    code = link[1].rsplit("/", 1)[1]

    client.cookies.clear()
    opened = await client.get(f"/s/{code}")
    assert opened.headers["location"] == "/me"
    assert "周新，您好" in (await client.get("/me")).text


async def test_enrolment_form_explains_what_is_missing(client: httpx.AsyncClient, app_ctx: AppContext,
                                                       world: World) -> None:
    sign_in_staff(client, app_ctx, world.admin)
    response = await post_form(client, "/admin/enrol", "/admin/enrol",
                               {"full_name": "周新", "phone": "12", "grid_id": "", "reason": ""})
    assert response.status_code == 422
    assert "请检查：" in response.text and "手机号" in text(response)
    assert 'value="周新"' in response.text


async def test_reissuing_the_link_shows_a_new_card_and_stops_the_old_link(
        client: httpx.AsyncClient, app_ctx: AppContext, world: World) -> None:
    sign_in_staff(client, app_ctx, world.admin)
    detail = f"/subjects/{world.subject_a.id}"
    response = await post_form(client, detail, f"/admin/subjects/{world.subject_a.id}/access-code", {})
    assert response.status_code == 200
    assert "已为王小明生成新的专属链接，旧链接已失效。" in response.text
    new_link = LINK_RE.search(response.text)
    assert new_link
    client.cookies.clear()
    assert (await client.get(f"/s/{world.subject_a.code}")).status_code == 401
    assert (await client.get(new_link[1].replace("http://homewatch.test", ""))).status_code == 303


async def test_admin_creates_grids_and_staff(client: httpx.AsyncClient, app_ctx: AppContext, world: World) -> None:
    sign_in_staff(client, app_ctx, world.admin)
    created = await post_form(client, "/admin/grids", "/admin/grids", {"name": "北湖网格"})
    assert created.status_code == 200 and "网格“北湖网格”已创建。" in created.text
    duplicate = await post_form(client, "/admin/grids", "/admin/grids", {"name": "北湖网格"})
    assert duplicate.status_code == 409 and "已有名为“北湖网格”的网格。" in duplicate.text

    staff = await post_form(client, "/admin/staff", "/admin/staff", {
        "username": "nurse-li", "password": "long enough pw", "full_name": "李护士", "role": "clinician",
        "grid_ids": [str(world.grid_a.id)], "language": "zh_Hant"})
    assert staff.status_code == 200
    assert "账号“nurse-li”已创建。" in staff.text
    assert "东园社区" in text(staff)
    short = await post_form(client, "/admin/staff", "/admin/staff", {
        "username": "nurse-wu", "password": "short", "role": "clinician"})
    assert short.status_code == 422 and "密码" in text(short)


async def test_summary_and_audit_log(client: httpx.AsyncClient, app_ctx: AppContext, world: World) -> None:
    await client.post("/api/v1/readings", json={"temperature_c": 38.6}, headers=world.subj_a)
    await client.post("/api/v1/readings", json={"temperature_c": 36.6}, headers=world.subj_b)
    sign_in_staff(client, app_ctx, world.admin)
    page = await client.get("/admin")
    shown = text(page)
    assert "今日全区概况" in shown
    assert '<span class="count-n">2</span> <span class="count-label">观察中</span>' in page.text
    assert '<span class="count-n">1</span> <span class="count-label">异常</span>' in page.text
    assert "14 天内共 2 次体温上报，其中 1 次发热。" in page.text
    assert "东园社区" in shown and "西岭村" in shown

    audit = await client.get(f"/admin/audit?subject={world.subject_a.id}")
    assert audit.status_code == 200
    assert "保存了体温" in audit.text and "登记了观察对象" in audit.text
    assert "李华" not in audit.text


async def test_census_list_upload_prints_a_card_per_person(client: httpx.AsyncClient, app_ctx: AppContext,
                                                          world: World) -> None:
    from tests.server.pages.conftest import csrf_token

    sign_in_staff(client, app_ctx, world.admin)
    census = "姓名,手机号,网格,原因\n张三,13800000001,东园社区,返乡\n李四,13800000002,西岭村,密切接触者\n"
    token = await csrf_token(client, "/admin/enrol")
    page = await client.post("/admin/enrol/census", data={"csrf_token": token},
                             files={"file": ("c.csv", census.encode("gb18030"), "text/csv")})
    assert page.status_code == 200
    shown = text(page)
    assert "已登记 2 人" in shown and "张三" in shown and "李四" in shown
    assert page.text.count("<svg") >= 2 and page.text.count("/s/") >= 2
    bad = "姓名,手机号,网格,原因\n王五,12,东园社区,返乡\n"
    token = await csrf_token(client, "/admin/enrol")
    refused = await client.post("/admin/enrol/census", data={"csrf_token": token},
                                files={"file": ("c.csv", bad.encode(), "text/csv")})
    assert refused.status_code == 422
    assert "名单未导入" in text(refused) and "第 2 行" in text(refused)


async def test_admin_deactivates_and_resets_a_staff_account_from_the_page(client: httpx.AsyncClient,
                                                                         app_ctx: AppContext, world: World) -> None:
    from tests.factories import PASSWORD

    sign_in_staff(client, app_ctx, world.admin)
    page = await client.get("/admin/staff")
    assert f'action="/admin/staff/{world.clinician_a.id}"' in page.text
    assert f'action="/admin/staff/{world.admin.id}"' in page.text  # password reset only, no self-deactivation
    assert page.text.count('value="deactivate"') == 2
    done = await post_form(client, "/admin/staff", f"/admin/staff/{world.clinician_a.id}", {"action": "deactivate"})
    assert done.status_code == 200 and "账号“doc-a”已更新" in text(done) and "已停用" in text(done)
    login = await client.post("/api/v1/auth/token", data={"username": "doc-a", "password": PASSWORD})
    assert login.status_code == 401
    reset = await post_form(client, "/admin/staff", f"/admin/staff/{world.clinician_b.id}",
                            {"action": "password", "password": "short"})
    assert reset.status_code == 422 and "至少" in text(reset)
