"""The pages each role uses: the tree on the admin's page, the grid worker's round and short record, the
observer's brief, in three languages, and the pages a role may not open."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from server.context import AppContext
from server.models import Reading
from server.models.households import ContactAttempt
from tests.factories import World, enrol, make_user
from tests.server.pages.conftest import post_form, sign_in_staff, text


async def test_the_admin_builds_the_tree_on_the_page(client: httpx.AsyncClient, app_ctx: AppContext,
                                                     world: World) -> None:
    sign_in_staff(client, app_ctx, world.admin)
    town = await post_form(client, "/admin/grids", "/admin/grids", {"name": "东园街道", "kind": "street",
                                                                    "parent_id": ""})
    assert town.status_code == 200 and "区域“东园街道”已创建。" in town.text
    tree = (await client.get("/api/v1/areas", headers=world.admin_h)).json()
    street = next(n for n in tree if n["name"] == "东园街道")
    moved = await post_form(client, "/admin/grids", "/admin/areas/move", {"area_id": str(world.grid_a.id),
                                                                          "parent_id": str(street["id"])})
    assert moved.status_code == 200 and "区域“东园社区”已移动。" in moved.text
    shown = text(moved)
    assert "东园街道 街道 1" in shown  # the street now rolls up the grid's one person
    # The roster page narrowed to the street lists its grid's person only; a link to an area that is
    # not there shows the whole roster rather than an error.
    narrowed = text(await client.get(f"/roster?area={street['id']}"))
    assert "王小明" in narrowed and "李华" not in narrowed
    whole = text(await client.get("/roster?area=99999"))
    assert "王小明" in whole and "李华" in whole
    wrong = await post_form(client, "/admin/grids", "/admin/grids", {"name": "错层", "kind": "district",
                                                                     "parent_id": str(street["id"])})
    assert wrong.status_code == 422 and "这类区域不能放在所选区域之下" in wrong.text


@pytest.mark.parametrize(("lang", "round_title", "saved"), [("zh_Hans", "每日走访", "体温已保存。"),
                                                            ("zh_Hant", "每日走訪", "體溫已儲存。"),
                                                            ("en", "Daily round", "The reading is saved.")])
async def test_a_grid_worker_lands_on_the_round_and_enters_a_visit_reading_on_the_record_page(
        client: httpx.AsyncClient, app_ctx: AppContext, world: World, lang: str, round_title: str,
        saved: str) -> None:
    worker = await make_user(app_ctx, role="grid_worker", grids_=[world.grid_a], username=f"worker-{lang}")
    person = await enrol(app_ctx, world.grid_a, name="孙走访", phone="13800000401",
                         start_date=(app_ctx.now() - timedelta(days=3)).date())
    client.cookies.set("hw_lang", lang)
    sign_in_staff(client, app_ctx, worker)
    home = await client.get("/")
    assert home.status_code in (302, 303) and home.headers["location"] == "/round"
    round_page = await client.get("/round")
    assert round_page.status_code == 200 and round_title in round_page.text and "孙走访" in round_page.text
    record = await client.get(f"/subjects/{person.id}")
    assert record.status_code == 200
    assert "id_number" not in record.text and "/watch" not in record.text and "release" not in record.text
    stored = await post_form(client, f"/subjects/{person.id}", f"/subjects/{person.id}/readings",
                             {"temperature_c": "36.7", "source": "visit",
                              "id": "6f1c1a2e-0000-4000-8000-000000000001"})
    assert stored.status_code in (302, 303)
    after = await client.get(stored.headers["location"])
    assert saved in after.text
    nobody = await post_form(client, f"/subjects/{person.id}", f"/subjects/{person.id}/attempts",
                             {"attempt": "visit:not_home"})
    assert nobody.status_code in (302, 303)
    async with app_ctx.db.session() as session:
        readings = (await session.execute(select(Reading.temperature_c, Reading.source)
                                          .where(Reading.subject_id == person.id))).all()
        attempts = await session.scalar(select(func.count()).select_from(ContactAttempt)
                                        .where(ContactAttempt.subject_id == person.id))
    assert [tuple(r) for r in readings] == [(36.7, "visit")] and attempts == 1
    for refused in ("/admin", "/admin/audit", f"/subjects/{person.id}/certificate"):
        assert (await client.get(refused)).status_code == 403, refused


async def test_an_observer_lands_on_the_brief_and_opens_no_person(client: httpx.AsyncClient, app_ctx: AppContext,
                                                                  world: World) -> None:
    observer = await make_user(app_ctx, role="observer", grids_=[world.grid_a, world.grid_b], username="cmd")
    sign_in_staff(client, app_ctx, observer)
    home = await client.get("/")
    assert home.headers["location"] == "/brief"
    brief = await client.get("/brief")
    assert brief.status_code == 200 and "东园社区" in brief.text
    for refused in ("/roster", f"/subjects/{world.subject_a.id}", "/round", "/census", "/admin"):
        response = await client.get(refused)
        assert response.status_code == 403, refused
        assert "您的角色无权打开此页面。" in response.text or refused == "/admin"
