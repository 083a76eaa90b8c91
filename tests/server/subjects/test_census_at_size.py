"""The census import past the short list: XLSX, dry runs, and long lists enrolled as background jobs."""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import func, select

from server.app import create_app
from server.context import AppContext
from server.db import Database
from server.models import AuditEntry, CensusImport, Subject
from server.settings import Settings
from tests.conftest import Clock, make_settings, public_dns
from tests.factories import World, make_world
from tests.server.pages.conftest import CSRF_RE, post_form, sign_in_staff, text

HEADER = ["姓名", "手机号", "网格", "观察方式", "原因", "开始日期", "身份证号"]
SYNC_ROWS = 3


@pytest_asyncio.fixture
async def settings(db_url: str, tmp_path: Path) -> Settings:
    # Lists of more than three people go to the background here, so a test need not upload 5,000.
    return make_settings(db_url, tmp_path, census_sync_rows=SYNC_ROWS)


@pytest_asyncio.fixture
async def app(settings: Settings, db: Database, clock: Clock) -> AsyncIterator[FastAPI]:
    application = create_app(settings, db=db)
    ctx: AppContext = application.state.ctx
    ctx.clock = clock
    ctx.resolve_host = public_dns
    async with application.router.lifespan_context(application):
        yield application


def _xlsx(rows: list[list[Any]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _csv(rows: list[list[str]], encoding: str = "utf-8-sig") -> bytes:
    return "\n".join(",".join(r) for r in [HEADER, *rows]).encode(encoding)


async def _upload(client: httpx.AsyncClient, world: World, data: bytes, name: str = "census.xlsx",
                  **params: Any) -> httpx.Response:
    return await client.post("/api/v1/subjects/import", params=params, headers=world.admin_h,
                             files={"file": (name, data, "application/octet-stream")})


async def _active(world: World) -> int:
    async with world.ctx.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Subject)) or 0)


async def _finished(client: httpx.AsyncClient, world: World, url: str) -> dict[str, Any]:
    for _ in range(400):
        body: dict[str, Any] = (await client.get(url, headers=world.admin_h)).json()
        if body["status"] not in ("queued", "checking", "writing"):
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"the import did not finish: {body}")


def _people(n: int, grid: str = "东园社区", first_phone: int = 13600000000) -> list[list[str]]:
    return [[f"人{i}", str(first_phone + i), grid, "居家", "密切接触者", "", ""] for i in range(n)]


async def test_an_xlsx_list_is_enrolled_with_dates_and_numbers_as_excel_keeps_them(
        client: httpx.AsyncClient, world: World) -> None:
    data = _xlsx([["张三", 13800000001, "东园社区", "居家", "武汉返回", datetime(2026, 3, 9), None],
                  [None, None, None, None, None, None, None],
                  ["李四", "139 0000 0002", world.grid_b.id, "集中观察", "密切接触者", "2026-03-08",
                   "510107199001011234"]])
    response = await _upload(client, world, data)
    assert response.status_code == 201, response.text
    first, second = response.json()["subjects"]
    assert (first["line"], first["full_name"], first["grid_id"]) == (2, "张三", world.grid_a.id)
    assert (second["line"], second["grid_id"]) == (4, world.grid_b.id)
    record = (await client.get(f"/api/v1/subjects/{first['id']}", headers=world.admin_h)).json()
    assert record["start_date"] == "2026-03-09" and record["phone"] == "+8613800000001"


async def test_an_xlsx_list_with_bad_lines_names_each_by_its_row(client: httpx.AsyncClient, world: World) -> None:
    data = _xlsx([["张三", "13800000001", "东园社区", "居家", "x", None, None],
                  ["李四", "not-a-phone", "东园社区", "居家", "x", None, None]])
    response = await _upload(client, world, data)
    assert response.status_code == 422
    assert [e["line"] for e in response.json()["errors"]] == [3]
    broken = await _upload(client, world, b"PK\x03\x04 not really a workbook")
    assert broken.status_code == 422 and "XLSX" in broken.json()["detail"]


async def test_a_dry_run_reports_the_same_and_writes_nothing(client: httpx.AsyncClient, world: World) -> None:
    before = await _active(world)
    good = await _upload(client, world, _csv(_people(2)), "c.csv", dry_run="true")
    assert good.status_code == 200, good.text
    assert good.json()["dry_run"] is True and good.json()["checked"] == 2 and good.json()["created"] == 0
    bad = _csv([*_people(1), ["王五", "13700000003", "不存在的网格", "居家", "返乡", "", ""]])
    checked = await _upload(client, world, bad, "c.csv", dry_run="true")
    written = await _upload(client, world, bad, "c.csv")
    assert checked.status_code == written.status_code == 422
    assert checked.json()["errors"] == written.json()["errors"]
    assert await _active(world) == before


async def test_a_gb18030_list_with_an_exposure_in_the_future_is_a_line_error(
        client: httpx.AsyncClient, world: World) -> None:
    data = ("姓名,手机号,网格,原因,末次暴露日期\n王五,13700000003,西岭村,返乡,2026-03-01\n"
            "赵六,13700000004,西岭村,返乡,2027-01-01\n钱七,13700000005,西岭村,返乡,2025-01-01\n").encode("gb18030")
    response = await _upload(client, world, data, "c.csv")
    assert response.status_code == 422, response.text
    assert [(e["line"], e["code"]) for e in response.json()["errors"]] == [
        (3, "exposure_in_future"), (4, "observation_already_over")]


async def test_a_long_list_is_enrolled_in_the_background_with_progress(client: httpx.AsyncClient,
                                                                       world: World) -> None:
    before = await _active(world)
    response = await _upload(client, world, _csv(_people(7) + _people(3, "西岭村", 13500000000)), "long.csv")
    assert response.status_code == 202, response.text
    job = await _finished(client, world, response.json()["status_url"])
    assert job["status"] == "done", job
    assert (job["total_rows"], job["checked_rows"], job["written_rows"]) == (10, 10, 10)
    assert await _active(world) == before + 10
    roster = (await client.get("/api/v1/roster", params={"grid_id": world.grid_b.id}, headers=world.admin_h)).json()
    assert roster["counts"]["total"] == 4
    async with world.ctx.db.session() as session:
        enrolled = await session.scalar(select(func.count()).select_from(AuditEntry)
                                        .where(AuditEntry.action == "subject.enrolled",
                                               AuditEntry.detail["census_import"].as_string() == job["id"]))
    assert enrolled == 10


async def test_a_long_list_reports_duplicates_against_the_file_and_the_database_and_writes_nobody(
        client: httpx.AsyncClient, world: World) -> None:
    before = await _active(world)
    rows = _people(4) + [["王小明", "13800138000", "东园社区", "居家", "x", "", ""],  # already under observation
                         ["人1", "13600000001", "西岭村", "居家", "x", "", ""]]  # line 3 again
    response = await _upload(client, world, _csv(rows), "dup.csv")
    job = await _finished(client, world, response.json()["status_url"])
    assert job["status"] == "rejected" and job["problem_lines"] == 2 and job["written_rows"] == 0
    assert [(e["line"], e["code"]) for e in job["errors"]] == [(6, "duplicate_name_and_phone"),
                                                               (7, "duplicate_in_list")]
    assert job["errors"][1]["params"] == {"other": 3}
    assert await _active(world) == before


async def test_a_long_dry_run_writes_nothing(client: httpx.AsyncClient, world: World) -> None:
    before = await _active(world)
    response = await _upload(client, world, _xlsx(_people(6)), dry_run="true")
    job = await _finished(client, world, response.json()["status_url"])
    assert job["status"] == "checked" and job["checked_rows"] == 6 and job["written_rows"] == 0
    assert job["errors"] == [] and await _active(world) == before


async def test_only_admins_see_imports(client: httpx.AsyncClient, world: World) -> None:
    response = await _upload(client, world, _csv(_people(5)), "c.csv")
    url = response.json()["status_url"]
    await _finished(client, world, url)
    assert (await client.get(url, headers=world.clin_a)).status_code == 403
    assert (await client.get("/api/v1/subjects/imports/00000000-0000-0000-0000-000000000000",
                             headers=world.admin_h)).status_code == 404


async def test_the_admin_page_shows_progress_and_prints_cards_per_grid(client: httpx.AsyncClient,
                                                                       app_ctx: AppContext) -> None:
    world = await make_world(app_ctx)
    sign_in_staff(client, app_ctx, world.admin)
    data = _csv(_people(4) + _people(2, "西岭村", 13500000000))
    token_page = await client.get("/admin/enrol")
    match = CSRF_RE.search(token_page.text)
    assert match
    uploaded = await client.post("/admin/enrol/census", data={"csrf_token": match[1]},
                                 files={"file": ("long.csv", data, "text/csv")})
    assert uploaded.status_code == 303
    page_url = uploaded.headers["location"]
    job_id = page_url.rsplit("/", 1)[1]
    await _finished(client, world, f"/api/v1/subjects/imports/{job_id}")
    page = await client.get(page_url)
    assert page.status_code == 200 and "已全部登记" in text(page)
    assert "long.csv" in text(await client.get("/admin/enrol"))
    cards = await post_form(client, page_url, f"/admin/imports/{job_id}/cards",
                            {"grid_id": world.grid_b.id, "page_no": 1})
    assert cards.status_code == 200
    assert cards.text.count("/s/") >= 2 and "人0" in cards.text and "人4" not in cards.text
    async with app_ctx.db.session() as session:
        job = await session.get(CensusImport, uuid.UUID(job_id))
        assert job is not None and job.status == "done"
