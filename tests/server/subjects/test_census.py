from __future__ import annotations

import httpx

from tests.factories import World

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
    assert record["observation_type"] == "centralized" and record["phone"] == "13900000002"
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
    assert no_grid.status_code == 422 and "grid" in no_grid.json()["detail"]
    empty = await _upload(client, world, "")
    assert empty.status_code == 422 and "empty" in empty.json()["detail"]


async def test_only_admins_import(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post("/api/v1/subjects/import", headers=world.clin_a,
                                 files={"file": ("c.csv", (HEADER + "张三,13800000001,东园社区,居家,x,,\n").encode())})
    assert response.status_code == 403
