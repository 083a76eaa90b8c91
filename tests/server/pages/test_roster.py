from __future__ import annotations

import httpx

from server.context import AppContext
from tests.factories import World, enrol
from tests.server.pages.conftest import sign_in_staff, text


async def test_roster_shows_counts_and_the_most_severe_first_with_readable_flags(
        client: httpx.AsyncClient, app_ctx: AppContext, world: World) -> None:
    await enrol(app_ctx, world.grid_a, name="阿安", phone="13700000000")
    await client.post("/api/v1/readings", json={"temperature_c": 38.6}, headers=world.subj_a)
    sign_in_staff(client, app_ctx, world.clinician_a)
    page = await client.get("/roster")
    assert page.status_code == 200
    shown = text(page)
    assert "王小明" in shown and "阿安" in shown
    assert "李华" not in shown  # another grid
    rows = page.text.split('<tr class="row-')[1:]
    assert rows[0].startswith("abnormal") and "王小明" in rows[0]
    assert "高热" in rows[0] and "38.6 °C" in rows[0] and "今天 09:30" in rows[0]
    assert 'class="badge badge-danger"' in rows[0]
    assert "1 / 14" in rows[0]
    assert '<span class="count-n">2</span> <span class="count-label">全部</span>' in page.text


async def test_roster_filters_by_status_grid_and_search(client: httpx.AsyncClient, app_ctx: AppContext,
                                                        world: World) -> None:
    await client.post("/api/v1/readings", json={"temperature_c": 38.6}, headers=world.subj_b)
    sign_in_staff(client, app_ctx, world.admin)
    everyone = text(await client.get("/roster"))
    assert "王小明" in everyone and "李华" in everyone
    abnormal = text(await client.get("/roster?status=abnormal"))
    assert "李华" in abnormal and "王小明" not in abnormal
    grid_a = text(await client.get(f"/roster?grid={world.grid_a.id}"))
    assert "王小明" in grid_a and "李华" not in grid_a
    by_phone = text(await client.get("/roster?q=13900"))
    assert "李华" in by_phone and "王小明" not in by_phone
    nobody = await client.get("/roster?q=nobody&status=bogus&grid=abc")
    assert nobody.status_code == 200
    assert "没有符合条件的人员。" in nobody.text


async def test_roster_is_paginated(client: httpx.AsyncClient, app_ctx: AppContext, world: World) -> None:
    from server.pages import roster

    roster.PAGE_SIZE, saved = 1, roster.PAGE_SIZE
    try:
        sign_in_staff(client, app_ctx, world.admin)
        first = await client.get("/roster")
        assert "第 1 页，共 2 页" in first.text
        assert 'href="/roster?page_no=2"' in first.text
        second = await client.get("/roster?page_no=2")
        assert "第 2 页，共 2 页" in second.text
    finally:
        roster.PAGE_SIZE = saved


async def test_roster_needs_a_staff_sign_in(client: httpx.AsyncClient, app_ctx: AppContext, world: World) -> None:
    response = await client.get("/roster?status=missed")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Froster%3Fstatus%3Dmissed"
