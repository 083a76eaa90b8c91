from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import httpx
import openpyxl
from sqlalchemy import update

from server.brief.service import freeze_days
from server.models import Subject
from tests.conftest import Clock
from tests.factories import World, enrol
from tests.server.pages.conftest import sign_in_staff, text


async def _brief(client: httpx.AsyncClient, headers: dict[str, str], **params: object) -> dict[str, Any]:
    response = await client.get("/api/v1/brief", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _total(body: dict[str, Any]) -> dict[str, int | None]:
    total = body["total"]
    assert isinstance(total, dict)
    values: dict[str, int | None] = total["values"]
    return values


def _changes(body: dict[str, Any]) -> dict[str, int | None]:
    total = body["total"]
    assert isinstance(total, dict)
    changes: dict[str, int | None] = total["changes"]
    return changes


async def _a_day_of_work(client: httpx.AsyncClient, world: World) -> None:
    """One fever, one set of symptoms, one referral, two tests (one pending), one release."""
    fever = await client.post("/api/v1/readings", json={"temperature_c": 38.6}, headers=world.subj_a)
    symptoms = await client.post("/api/v1/readings", json={"temperature_c": 36.6, "symptoms": ["cough"]},
                                 headers=world.subj_b)
    assert fever.status_code == symptoms.status_code == 201
    sid = world.subject_a.id
    assert (await client.post(f"/api/v1/subjects/{sid}/actions", json={"kind": "referred_fever_clinic"},
                              headers=world.admin_h)).status_code == 201
    sampled = (world.ctx.now() - timedelta(hours=1)).isoformat()
    for result in ("pending", "negative"):
        assert (await client.post(f"/api/v1/subjects/{sid}/tests", headers=world.admin_h,
                                  json={"kind": "nucleic_acid", "sampled_at": sampled, "result": result})
                ).status_code == 201
    extra = await enrol(world.ctx, world.grid_b, name="赵六", phone="13700000006")
    released = await client.post(f"/api/v1/subjects/{extra.id}/release", json={"override": True, "note": "x"},
                                 headers=world.admin_h)
    assert released.status_code == 200, released.text


async def test_todays_brief_counts_the_day_per_area_and_in_total(client: httpx.AsyncClient, world: World) -> None:
    await _a_day_of_work(client, world)
    body = await _brief(client, world.admin_h)
    assert body["live"] is True and body["metrics"][0] == "home"
    total = _total(body)
    assert (total["home"], total["new"], total["released"], total["fever"], total["symptoms"]) == (2, 3, 1, 1, 1)
    assert (total["referrals"], total["tests_sampled"], total["tests_pending"], total["tests_positive"]) == (1, 2, 1, 0)
    rows = {row["name"]: row["values"] for row in body["rows"]}
    assert rows["东园社区"]["fever"] == 1 and rows["西岭村"]["released"] == 1 and rows["西岭村"]["home"] == 1
    assert len(body["trend"]) == 14 and body["trend"][-1]["under_observation"] == 2


async def test_a_past_day_is_frozen_and_never_changes(client: httpx.AsyncClient, world: World,
                                                      clock: Clock) -> None:
    await _a_day_of_work(client, world)
    yesterday = world.ctx.now().astimezone(world.ctx.settings.rules.tz).date()
    clock.now += timedelta(days=1)
    assert await freeze_days(world.ctx.db, now=clock.now, rules=world.ctx.settings.rules) >= 1
    frozen = await _brief(client, world.admin_h, date=yesterday.isoformat())
    assert frozen["live"] is False and _total(frozen)["fever"] == 1 and _total(frozen)["new"] == 3
    # Counted again, the day would now differ; the brief keeps what was frozen.
    async with world.ctx.db.session() as session:
        await session.execute(update(Subject).values(created_at=clock.now - timedelta(days=2)))
    assert _total(await _brief(client, world.admin_h, date=yesterday.isoformat())) == _total(frozen)
    # Today, beside yesterday: nobody new, the fever gone from today's count.
    today = await _brief(client, world.admin_h)
    assert _total(today)["new"] == 0 and _changes(today)["new"] == -3 and _changes(today)["fever"] == -1
    assert _total(today)["home"] == 2 and _changes(today)["home"] == 0
    assert await freeze_days(world.ctx.db, now=clock.now, rules=world.ctx.settings.rules) == 0


async def test_a_clinician_sees_their_own_areas_only(client: httpx.AsyncClient, world: World) -> None:
    await _a_day_of_work(client, world)
    body = await _brief(client, world.clin_a)
    assert [row["name"] for row in body["rows"]] == ["东园社区"]
    assert _total(body)["symptoms"] == 0 and _total(body)["fever"] == 1
    foreign = await client.get("/api/v1/brief", params={"area_id": world.grid_b.id}, headers=world.clin_a)
    assert foreign.status_code == 404
    one = await _brief(client, world.admin_h, area_id=world.grid_b.id)
    assert [row["name"] for row in one["rows"]] == ["西岭村"] and _total(one)["released"] == 1
    future = (world.ctx.now() + timedelta(days=2)).date().isoformat()
    assert (await client.get("/api/v1/brief", params={"date": future}, headers=world.admin_h)).status_code == 422
    assert (await client.get("/api/v1/brief", headers=world.subj_a)).status_code == 401


async def test_the_brief_downloads_as_xlsx(client: httpx.AsyncClient, world: World) -> None:
    await _a_day_of_work(client, world)
    response = await client.get("/api/v1/brief", params={"format": "xlsx", "lang": "en"}, headers=world.admin_h)
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book.worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = rows[1]
    assert header[:3] == ["Area", "At home", "At a site"]
    total = rows[-1]
    assert total[0] == "Total" and total[header.index("Fever")] == 1 and total[header.index("New")] == 3
    assert len(list(book.worksheets[1].iter_rows())) == 15


async def test_the_brief_page_in_each_language(client: httpx.AsyncClient, world: World) -> None:
    await _a_day_of_work(client, world)
    sign_in_staff(client, world.ctx, world.clinician_a)
    page = await client.get("/brief")
    assert page.status_code == 200 and "每日简报" in text(page) and "东园社区" in text(page)
    assert "西岭村" not in text(page)
    for lang, words in (("zh_Hant", "每日簡報"), ("en", "Daily brief")):
        client.cookies.set("hw_lang", lang)
        assert words in text(await client.get("/brief"))
    xlsx = await client.get("/brief", params={"format": "xlsx"})
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")


async def test_the_brief_counts_the_census_by_area_and_freezes_it(client: httpx.AsyncClient, world: World,
                                                                  clock: Clock) -> None:
    from server.auth.principal import SYSTEM_STAFF
    from server.declarations.service import record_tally

    async with world.ctx.db.session() as session:
        await record_tally(session, staff=SYSTEM_STAFF, area_id=world.grid_a.id, households_visited=5,
                           people_counted=12, now=world.ctx.now())
    declared = await client.post("/api/v1/declarations", json={
        "full_name": "钱申报", "phone": "13600000009", "address": "西岭村 3 组", "area_id": world.grid_b.id})
    assert declared.status_code == 201, declared.text
    body = await _brief(client, world.admin_h)
    assert {"households_visited", "people_counted", "declarations"} <= set(body["metrics"])
    rows = {row["name"]: row["values"] for row in body["rows"]}
    assert (rows["东园社区"]["households_visited"], rows["东园社区"]["people_counted"]) == (5, 12)
    assert rows["西岭村"]["declarations"] == 1 and rows["东园社区"]["declarations"] == 0
    day = world.ctx.now().astimezone(world.ctx.settings.rules.tz).date()
    clock.now += timedelta(days=1)
    frozen = await _brief(client, world.admin_h, date=day.isoformat())
    assert (_total(frozen)["households_visited"], _total(frozen)["declarations"]) == (5, 1)
    today = await _brief(client, world.admin_h)
    # The tallies run on (what was visited so far); nobody declared today.
    assert _total(today)["households_visited"] == 5 and _changes(today)["households_visited"] == 0
    assert _total(today)["declarations"] == 0 and _changes(today)["declarations"] == -1
