"""The public declaration page (Chinese first, no sign-in) and the door-to-door census page."""

from __future__ import annotations

import httpx

from server.context import AppContext
from tests.factories import World
from tests.server.pages.conftest import post_form, sign_in_staff, text


def _form(world: World, **changes: object) -> dict[str, object]:
    return {"full_name": "周杰", "phone": "13700137000", "area_id": str(world.grid_a.id), "address": "东园社区 9栋 301",
            "arrival_date": "2026-03-08", "arrived_from": "武汉", "contact_with_case": "no", "gatherings": "yes",
            "symptoms": ["cough"], **changes}


async def test_anyone_declares_on_the_public_page_in_chinese_first(client: httpx.AsyncClient, world: World) -> None:
    page = await client.get("/declare")
    assert page.status_code == 200
    assert "健康申报" in text(page) and "东园社区" in text(page) and 'type="tel"' in page.text
    response = await post_form(client, "/declare", "/declare", _form(world))
    assert response.status_code == 200
    assert "谢谢，已收到您的申报" in text(response) and "137 0013 7000" in text(response)
    queue = (await client.get("/api/v1/declarations", headers=world.clin_a)).json()
    assert [(d["full_name"], d["contact_with_case"], d["gatherings"]) for d in queue] == [("周杰", False, True)]


async def test_the_page_names_what_to_fix(client: httpx.AsyncClient, world: World) -> None:
    response = await post_form(client, "/declare", "/declare", _form(world, phone="12", area_id=""))
    assert response.status_code == 422
    assert "手机号" in text(response)
    assert (await client.get("/api/v1/declarations", headers=world.admin_h)).json() == []


async def test_the_declaration_page_in_traditional_chinese_and_english(client: httpx.AsyncClient) -> None:
    assert "健康申報" in text(await client.get("/declare", headers={"Accept-Language": "zh-TW"}))
    assert "Health declaration" in text(await client.get("/declare", headers={"Accept-Language": "en"}))


async def test_a_grid_worker_counts_doors_and_takes_declarations(
    client: httpx.AsyncClient, app_ctx: AppContext, world: World
) -> None:
    assert (await client.get("/census")).status_code == 303  # signed in only
    sign_in_staff(client, app_ctx, world.clinician_a)
    page = await client.get("/census")
    assert "入户摸排" in text(page) and "西岭村" not in text(page)  # only their own grids
    tallied = await post_form(client, "/census", "/census/tally",
                              {"area_id": str(world.grid_a.id), "households_visited": "12", "people_counted": "31"})
    assert tallied.status_code == 200 and 'id="tallied"' in tallied.text
    foreign = await post_form(client, "/census", "/census/tally",
                              {"area_id": str(world.grid_b.id), "households_visited": "1", "people_counted": "1"})
    assert foreign.status_code == 422
    declared = await post_form(client, "/census", "/census/declarations", _form(world))
    assert declared.status_code == 200 and "周杰 的申报已进入待筛查列表" in text(declared)
    progress = (await client.get("/api/v1/census/progress", headers=world.clin_a)).json()
    assert progress[0] | {"name": ""} == {"area_id": world.grid_a.id, "name": "", "households_visited": 12,
                                          "people_counted": 31, "declarations_waiting": 1}
    [queued] = (await client.get("/api/v1/declarations", headers=world.clin_a)).json()
    assert queued["source"] == "census"


async def test_the_summary_shows_census_progress(client: httpx.AsyncClient, app_ctx: AppContext,
                                                 world: World) -> None:
    await client.post("/api/v1/declarations", json={"full_name": "周杰", "phone": "13700137000",
                                                    "address": "9栋", "area_id": world.grid_b.id})
    sign_in_staff(client, app_ctx, world.admin)
    shown = text(await client.get("/admin"))
    assert "摸排进度" in shown and "待筛查申报" in shown
