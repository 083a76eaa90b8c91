from __future__ import annotations

import httpx

from tests.factories import World

PHONE_RULE = "请填写手机号（11 位，如 138 1234 5678）、带区号的座机（010 1234 5678），境外号码请以 + 开头"


HEADER = "姓名,手机号,网格,观察方式,原因,开始日期,身份证号\n"


async def _upload(client: httpx.AsyncClient, world: World, text: str, encoding: str = "utf-8-sig") -> httpx.Response:
    return await client.post("/api/v1/subjects/import", headers=world.admin_h,
                             files={"file": ("census.csv", text.encode(encoding), "text/csv")})


async def test_census_list_enrols_everyone_with_links(client: httpx.AsyncClient, world: World) -> None:
    text = HEADER + (
        "张三,13800000001,东园社区,居家,武汉返回,2026-03-09,\n"
        "\n"
        f"李四,139 0000 0002,{world.grid_b.id},集中观察,密切接触者,,510107199001011234\n"
    )
    response = await _upload(client, world, text)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["created"] == 2
    first, second = body["subjects"]
    assert (first["line"], first["full_name"], first["grid_id"]) == (2, "张三", world.grid_a.id)
    assert (second["line"], second["grid_id"]) == (4, world.grid_b.id)
    assert second["access_url"].endswith(second["access_code"])
    # The links work, and the people are on the roster with their details.
    token = await client.post("/api/v1/auth/subject-token", json={"access_code": first["access_code"]})
    assert token.status_code == 200
    record = (await client.get(f"/api/v1/subjects/{second['id']}", headers=world.admin_h)).json()
    assert record["observation_type"] == "centralized" and record["phone"] == "+8613900000002"
    assert record["id_number_masked"] == "510***********1234"
    assert (await client.get(f"/api/v1/subjects/{first['id']}", headers=world.admin_h)).json()["start_date"] == \
        "2026-03-09"


async def test_a_list_from_excel_in_gb18030_is_read(client: httpx.AsyncClient, world: World) -> None:
    response = await _upload(client, world, HEADER + "王五,13700000003,西岭村,,返乡,,\n", encoding="gb18030")
    assert response.status_code == 201 and response.json()["subjects"][0]["full_name"] == "王五"


async def test_one_bad_line_enrols_nobody_and_names_every_problem(client: httpx.AsyncClient, world: World) -> None:
    text = HEADER + (
        "张三,13800000001,东园社区,居家,武汉返回,,\n"
        "李四,not-a-phone,东园社区,居家,密切接触者,,\n"
        "王五,13700000003,不存在的网格,居家,返乡,,\n"
    )
    response = await _upload(client, world, text)
    assert response.status_code == 422
    body = response.json()
    assert "Nothing was enrolled" in body["detail"]
    assert [e["line"] for e in body["errors"]] == [3, 4]
    assert "phone" in body["errors"][0]["detail"] and "不存在的网格" in body["errors"][1]["detail"]
    roster = (await client.get("/api/v1/roster", params={"q": "张三"}, headers=world.admin_h)).json()
    assert roster["items"] == []


async def test_missing_columns_and_empty_files_are_explained(client: httpx.AsyncClient, world: World) -> None:
    no_grid = await _upload(client, world, "姓名,手机号,原因\n张三,13800000001,返乡\n")
    assert no_grid.status_code == 422 and [e["field"] for e in no_grid.json()["errors"]] == ["grid"]
    assert no_grid.json()["errors"][0]["detail"] == "grid: the list has no such column"
    empty = await _upload(client, world, "")
    assert empty.status_code == 422 and "empty" in empty.json()["detail"]


async def test_only_admins_import(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post("/api/v1/subjects/import", headers=world.clin_a,
                                 files={"file": ("c.csv", (HEADER + "张三,13800000001,东园社区,居家,x,,\n").encode())})
    assert response.status_code == 403


async def _upload_as(client: httpx.AsyncClient, world: World, text: str, language: str) -> httpx.Response:
    return await client.post("/api/v1/subjects/import", headers={**world.admin_h, "Accept-Language": language},
                             files={"file": ("census.csv", text.encode(), "text/csv")})


async def test_every_line_problem_is_named_in_the_callers_language(client: httpx.AsyncClient, world: World) -> None:
    text = "姓名,手机号,网格,观察方式,原因,开始日期,观察天数,身份证号,语言\n" + (
        ",13800000001,东园社区,居家,返乡,,,,\n"                  # 2: no name
        "李四,12ab34,东园社区,居家,返乡,,,,\n"                    # 3: not a phone number
        "王五,13700000003,不存在的网格,居家,返乡,,,,\n"            # 4: unknown grid
        "赵六,13700000004,东园社区,在家,返乡,2026/3/9,0,,\n"       # 5: type, date and days
        "钱七,13700000005,东园社区,居家,   ,,,51-01,克林贡语\n"    # 6: blank reason, ID number, language
    )
    response = await _upload_as(client, world, text, "zh-CN")
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "名单未导入：有 5 行需要修改。未登记任何人。"
    assert [(e["line"], e["detail"]) for e in body["errors"]] == [
        (2, "姓名：不能为空"),
        (3, f"手机号：{PHONE_RULE}"),
        (4, "网格：没有名为“不存在的网格”的网格"),
        (5, "观察方式：请填写“居家”或“集中”"),
        (5, "观察开始日期：应为日期，例如 2026-03-09"),
        (5, "观察天数：不能小于 1"),
        (6, "语言：请填写“简体中文”“繁體中文”或“English”"),
        (6, "观察原因：不能为空"),
        (6, "身份证号：证件号码只能包含字母和数字"),
    ]
    # The machine contract stays: pydantic's type (or ours), the field and the parameters.
    assert body["errors"][0] == {"line": 2, "field": "full_name", "code": "string_too_short",
                                 "params": {"min_length": 1}, "detail": "姓名：不能为空"}
    assert body["errors"][2]["code"] == "unknown_grid" and body["errors"][2]["params"] == {"name": "不存在的网格"}
    assert body["errors"][5]["params"] == {"ge": 1}

    traditional = (await _upload_as(client, world, text, "zh-TW")).json()
    assert traditional["errors"][2]["detail"] == "網格：沒有名為“不存在的网格”的網格"
    english = (await _upload_as(client, world, text, "en")).json()
    assert english["errors"][0]["detail"] == "full_name: must not be empty"
    assert english["errors"][2]["detail"] == "grid: there is no grid named “不存在的网格”"


async def test_missing_columns_are_named_as_headers_the_reader_can_write(client: httpx.AsyncClient,
                                                                         world: World) -> None:
    response = await _upload_as(client, world, "姓名,手機號\n張三,13800000001\n", "zh-TW")
    assert response.status_code == 422
    assert [e["detail"] for e in response.json()["errors"]] == ["網格：名單中沒有這一欄", "觀察原因：名單中沒有這一欄"]
    # ... and those names are accepted, as are the languages written out.
    text = "姓名,手機號,網格,觀察原因,語言\n張三,13800000001,东园社区,返鄉,繁體中文\n"
    created = await _upload_as(client, world, text, "zh-TW")
    assert created.status_code == 201, created.text
    subject_id = created.json()["subjects"][0]["id"]
    record = (await client.get(f"/api/v1/subjects/{subject_id}", headers=world.admin_h)).json()
    assert record["language"] == "zh_Hant"


async def test_an_oversized_field_is_a_line_error_not_a_server_error(client: httpx.AsyncClient,
                                                                    world: World) -> None:
    # Past the csv module's own field limit (128 KiB), which it reports by raising mid-file.
    text = HEADER + "张三,13800000001,东园社区,居家,武汉返回,,\n" + \
        "李四,13900000002,东园社区,居家," + "长" * 140_000 + ",,\n"
    response = await _upload(client, world, text)
    assert response.status_code == 422, response.text
    problems = response.json()["errors"]
    assert [(p["line"], p["code"]) for p in problems] == [(3, "unreadable_line")]
    assert "line" in problems[0]["detail"]


async def test_control_characters_in_a_field_are_a_line_error(client: httpx.AsyncClient, world: World) -> None:
    text = HEADER + "张\x00三,13800000001,东园社区,居家,武汉\x1b返回,,\n"
    response = await _upload(client, world, text)
    assert response.status_code == 422, response.text
    assert {(p["line"], p["field"], p["code"]) for p in response.json()["errors"]} == {
        (2, "full_name", "string_pattern_mismatch"), (2, "reason", "string_pattern_mismatch")}


async def test_duplicates_are_line_errors_unless_allowed(client: httpx.AsyncClient, world: World) -> None:
    text = HEADER + (
        "王小明,13800138000,东园社区,居家,返乡,,\n"  # already under observation (name and phone)
        "张三,13800000001,东园社区,居家,返乡,,510107199001011234\n"
        "张 三,13800000001,西岭村,居家,返乡,,\n"  # the same person as line 3
    )
    response = await _upload(client, world, text)
    assert response.status_code == 422
    errors = [(e["line"], e["detail"]) for e in response.json()["errors"]]
    assert [line for line, _detail in errors] == [2, 4]
    assert "already under observation" in errors[0][1] and "the same person as on line 3" in errors[1][1]
    roster = (await client.get("/api/v1/roster", params={"q": "张三"}, headers=world.admin_h)).json()
    assert roster["items"] == []  # nothing was enrolled

    allowed = await client.post("/api/v1/subjects/import?allow_duplicates=true", headers=world.admin_h,
                                files={"file": ("census.csv", text.encode(), "text/csv")})
    assert allowed.status_code == 201 and allowed.json()["created"] == 3
