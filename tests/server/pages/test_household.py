"""The household page: the link signs in, one member reports for everyone on one page."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from server.auth.callers import HOUSEHOLD_COOKIE
from server.context import AppContext
from server.households.schemas import HouseholdCreate
from server.households.service import create_household
from server.models import Reading
from tests.factories import SYSTEM_ADMIN, World, enrol
from tests.server.pages.conftest import post_form, text


async def _household_of_two(app_ctx: AppContext, world: World) -> tuple[str, list[str]]:
    grandma = await enrol(app_ctx, world.grid_a, name="王奶奶", phone="13800138001")
    async with app_ctx.db.session() as session:
        household, code = await create_household(
            session, actor=SYSTEM_ADMIN, body=HouseholdCreate(address="东园社区 3 栋 101", area_id=world.grid_a.id),
            now=app_ctx.now())
        for enrolled in (world.subject_a, grandma):
            person = await session.get(type(enrolled.subject), enrolled.id)
            assert person is not None
            person.household_id = household.id
    return code, [str(world.subject_a.id), str(grandma.id)]


async def test_the_household_link_signs_in_and_shows_everyone(
    client: httpx.AsyncClient, app_ctx: AppContext, world: World
) -> None:
    code, _ids = await _household_of_two(app_ctx, world)
    response = await client.get(f"/h/{code}")
    assert response.status_code == 303 and response.headers["location"] == "/household"
    assert response.headers["referrer-policy"] == "no-referrer"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(f"{HOUSEHOLD_COOKIE}="))
    assert "httponly" in cookie.lower()
    page = text(await client.get("/household"))
    assert "我家" in page and "东园社区 3 栋 101" in page
    assert "王小明" in page and "王奶奶" in page and "李华" not in page
    # The household's sign-in is not a person's: their own page still asks for a personal link.
    assert (await client.get("/me")).status_code == 303


async def test_an_unknown_household_link_explains_what_to_do(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get("/h/not-a-real-code-at-all")
    assert response.status_code == 401
    assert "此链接已失效" in response.text


async def test_one_form_saves_everyone_at_home_once(
    client: httpx.AsyncClient, app_ctx: AppContext, world: World
) -> None:
    code, (me, grandma) = await _household_of_two(app_ctx, world)
    await client.get(f"/h/{code}")
    form: dict[str, object] = {f"temperature_c:{me}": "３６，６", f"temperature_c:{grandma}": "38.2",
                               f"symptoms:{grandma}": ["cough"]}
    response = await post_form(client, "/household", "/household/readings", form)
    assert response.status_code == 303, response.text
    shown = text(await client.get(response.headers["location"]))
    assert "已保存" in shown and "36.6 °C" in shown and "38.2 °C" in shown and "咳嗽" in shown
    assert "已通知您的诊所" in shown
    async with app_ctx.db.session() as session:
        readings = (await session.scalars(select(Reading))).all()
    assert sorted((r.temperature_c, r.source) for r in readings) == [(36.6, "household"), (38.2, "household")]


async def test_a_bad_value_names_the_person_and_saves_nobody(
    client: httpx.AsyncClient, app_ctx: AppContext, world: World
) -> None:
    code, (me, grandma) = await _household_of_two(app_ctx, world)
    await client.get(f"/h/{code}")
    response = await post_form(client, "/household", "/household/readings",
                               {f"temperature_c:{me}": "36.6", f"temperature_c:{grandma}": "3.82"})
    assert response.status_code == 422
    shown = text(response)
    assert "没有保存" in shown and "王奶奶" in shown
    empty = await post_form(client, "/household", "/household/readings", {})
    assert empty.status_code == 422 and "请至少填写一个体温" in text(empty)
    async with app_ctx.db.session() as session:
        assert (await session.scalars(select(Reading))).all() == []


async def test_the_household_page_in_traditional_chinese_and_english(
    client: httpx.AsyncClient, app_ctx: AppContext, world: World
) -> None:
    code, _ids = await _household_of_two(app_ctx, world)
    await client.get(f"/h/{code}")
    hant = await client.get("/household", headers={"Accept-Language": "zh-TW"})
    assert "為全家回報體溫" in text(hant)
    english = await client.get("/household", headers={"Accept-Language": "en"})
    assert "Our household" in text(english) and "Any symptoms?" in text(english)
