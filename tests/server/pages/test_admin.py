from __future__ import annotations

import html
import re

import httpx

from server.context import AppContext
from tests.factories import World
from tests.server.pages.conftest import csrf_token, post_form, sign_in_staff, text

PHONE_RULE = "请填写手机号（11 位，如 138 1234 5678）、带区号的座机（010 1234 5678），境外号码请以 + 开头"


# Two Latin words with a space between: an English sentence (or pydantic's) on a Chinese page. Codes such as
# 'home', CSV, UTF-8 or 2026-03-09 stand alone and pass.
LATIN_SENTENCE = re.compile(r"[A-Za-z]{2,}[,;:.!?'’)]?\s+[(]?[A-Za-z]{2,}")
ALERT_RE = re.compile(r'<(p|div)[^>]*role="alert"[^>]*>(.*?)</\1>', re.S)
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
    assert alerts(response) == [f"请修改表单中的以下内容： 手机号：{PHONE_RULE} 观察原因：不能为空"]
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


def alerts(response: httpx.Response) -> list[str]:
    """The text of each refusal notice on the page (role="alert"), as a reader sees it."""
    return [html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip())
            for _tag, body in ALERT_RE.findall(response.text)]


def latin_sentences(notices: list[str]) -> list[str]:
    return [match for notice in notices for match in LATIN_SENTENCE.findall(notice)]


ENROL = {"full_name": "周新", "phone": "13512345678", "grid_id": "", "observation_type": "home",
         "reason": "自外省返回", "start_date": "", "duration_days": "14", "id_number": "", "date_of_birth": "",
         "address": "", "language": ""}


async def test_every_refusal_of_the_enrolment_form_is_in_chinese(client: httpx.AsyncClient, app_ctx: AppContext,
                                                                 world: World) -> None:
    sign_in_staff(client, app_ctx, world.admin)
    grid = str(world.grid_a.id)
    cases = [
        ({"full_name": ""}, "姓名：不能为空"),
        ({"full_name": "周" * 101}, "姓名：最多 100 个字符"),
        ({"phone": "12"}, f"手机号：{PHONE_RULE}"),
        ({"phone": "12345"}, f"手机号：{PHONE_RULE}"),
        ({"phone": "1391111"}, f"手机号：{PHONE_RULE}"),
        ({"phone": "12ab34"}, f"手机号：{PHONE_RULE}"),
        ({"phone": "1" * 33}, "手机号：最多 32 个字符"),
        ({"grid_id": ""}, "没有编号为 0 的网格。"),
        ({"grid_id": "99999"}, "没有编号为 99999 的网格。"),
        ({"reason": ""}, "观察原因：不能为空"),
        ({"reason": "返" * 501}, "观察原因：最多 500 个字符"),
        ({"duration_days": "0"}, "观察天数：不能小于 1"),
        ({"duration_days": "61"}, "观察天数：不能大于 60"),
        ({"id_number": "51-01"}, "身份证号：证件号码只能包含字母和数字"),
        ({"id_number": "5" * 33}, "身份证号：最多 32 个字符"),
        ({"address": "地" * 301}, "地址：最多 300 个字符"),
        # Only a hand-made request can send these; they are still answered in Chinese.
        ({"observation_type": "hotel"}, "观察方式：应为以下之一：'home'或'centralized'"),
        ({"language": "fr"}, "语言：应为以下之一：'zh_Hans'、'zh_Hant'或'en'"),
    ]
    for changes, expected in cases:
        form = {**ENROL, "grid_id": grid, **changes}
        response = await post_form(client, "/admin/enrol", "/admin/enrol", form)
        assert response.status_code in (404, 422), (changes, response.status_code)
        notices = alerts(response)
        assert any(expected in notice for notice in notices), (changes, notices)
        assert latin_sentences(notices) == [], (changes, notices)


async def test_every_refusal_of_a_census_list_is_in_chinese(client: httpx.AsyncClient, app_ctx: AppContext,
                                                            world: World) -> None:
    sign_in_staff(client, app_ctx, world.admin)
    header = "姓名,手机号,网格,观察方式,原因,开始日期,观察天数,地址,身份证号,出生日期,语言\n"
    lines = (
        ",13800000001,东园社区,,返乡,,,,,,\n"
        "李四,12ab34,东园社区,,返乡,,,,,,\n"
        "王五,13700000003,不存在的网格,,返乡,,,,,,\n"
        "赵六,13700000004,东园社区,在家,返乡,2026/3/9,0,,,,\n"
        "钱七,13700000005,东园社区,,,,,,51-01,1990-02-30,克林贡语\n"
        "孙八,13700000006,东园社区,,返乡,,abc,{address},,,\n".format(address="地" * 301)
    )
    files: list[tuple[bytes, str]] = [
        (b"", "文件是空的"),
        (b"\xff\xfe\xfa", "无法识别文件编码"),
        ("姓名,手机号\n张三,13800000001\n".encode(), "网格：名单中没有这一列"),
        (header.encode(), "名单只有表头"),
        ((header + lines).encode(), "第 2 行：姓名：不能为空"),  # last: every line problem is checked below
    ]
    for data, expected in files:
        token = await csrf_token(client, "/admin/enrol")
        response = await client.post("/admin/enrol/census", data={"csrf_token": token},
                                     files={"file": ("c.csv", data, "text/csv")})
        assert response.status_code == 422, (expected, response.status_code)
        notices = alerts(response)
        assert any(expected in notice for notice in notices), (expected, notices)
        assert latin_sentences(notices) == [], notices
    assert notices == [" ".join([
        "名单未导入：有 6 行需要修改。未登记任何人。",
        "第 2 行：姓名：不能为空", f"第 3 行：手机号：{PHONE_RULE}",
        "第 4 行：网格：没有名为“不存在的网格”的网格", "第 5 行：观察方式：请填写“居家”或“集中”",
        "第 5 行：观察开始日期：应为日期，例如 2026-03-09", "第 5 行：观察天数：不能小于 1",
        "第 6 行：语言：请填写“简体中文”“繁體中文”或“English”", "第 6 行：观察原因：不能为空",
        "第 6 行：身份证号：证件号码只能包含字母和数字", "第 6 行：出生日期：应为日期，例如 2026-03-09",
        "第 7 行：观察天数：应为整数", "第 7 行：地址：最多 300 个字符",
    ])], notices


async def test_every_refusal_of_the_staff_form_is_in_chinese(client: httpx.AsyncClient, app_ctx: AppContext,
                                                             world: World) -> None:
    sign_in_staff(client, app_ctx, world.admin)
    staff = {"username": "nurse-li", "password": "long enough pw", "full_name": "", "role": "clinician",
             "language": ""}
    cases = [
        ({"username": "a"}, "用户名：至少 2 个字符"),
        ({"username": "李护士"}, "用户名：含有不允许的字符"),
        ({"password": "short"}, "密码：至少 8 个字符"),
        ({"full_name": "李" * 101}, "姓名：最多 100 个字符"),
        ({"role": "boss"}, "角色：应为以下之一：'admin'、'clinician'、'grid_worker'或'observer'"),
        ({"username": "doc-a"}, "用户名“doc-a”已被使用。"),
    ]
    for changes, expected in cases:
        response = await post_form(client, "/admin/staff", "/admin/staff", {**staff, **changes})
        assert response.status_code in (409, 422), (changes, response.status_code)
        notices = alerts(response)
        assert any(expected in notice for notice in notices), (changes, notices)
        assert latin_sentences(notices) == [], (changes, notices)


async def test_the_audit_log_names_its_details_in_chinese(client: httpx.AsyncClient, app_ctx: AppContext,
                                                          world: World) -> None:
    await client.post("/api/v1/readings", json={"temperature_c": 38.6}, headers=world.subj_a)
    created = await client.post("/api/v1/users", headers=world.admin_h, json={
        "username": "nurse-li", "password": "long enough pw", "role": "clinician", "grid_ids": [world.grid_a.id]})
    assert created.status_code == 201
    sign_in_staff(client, app_ctx, world.admin)
    for language, expected in (
        ("zh-CN", ["体温：38.6 °C", "来源：本人上报", "类型：高热", "用户名：nurse-li", "角色：医生"]),
        ("zh-TW", ["體溫：38.6 °C", "來源：本人上報", "類型：高熱", "使用者名稱：nurse-li", "角色：醫生"]),
        ("en", ["Temperature: 38.6 °C", "Source: Self-reported", "Kind: High fever", "Role: Clinician"]),
    ):
        page = await client.get("/admin/audit", headers={"Accept-Language": language})
        details = [html.unescape(re.sub(r"<[^>]+>", "", cell))
                   for cell in re.findall(r'<td class="details">(.*?)</td>', page.text, re.S)]
        shown = " ".join(details)
        assert all(e in shown for e in expected), (language, details)
        if language != "en":
            assert latin_sentences(details) == [], details


async def test_enrolling_someone_already_under_observation_offers_their_record(
        client: httpx.AsyncClient, app_ctx: AppContext, world: World) -> None:
    sign_in_staff(client, app_ctx, world.admin)
    form = {**ENROL, "grid_id": str(world.grid_a.id), "full_name": "王小明", "phone": "13800138000"}
    response = await post_form(client, "/admin/enrol", "/admin/enrol", form)
    assert response.status_code == 409
    assert "同名且同一电话号码的人员已在观察中。" in " ".join(alerts(response))
    assert f'href="/subjects/{world.subject_a.id}"' in response.text and 'name="allow_duplicate"' in response.text
    response = await post_form(client, "/admin/enrol", "/admin/enrol", {**form, "allow_duplicate": "1"})
    assert response.status_code == 200 and "/s/" in response.text
