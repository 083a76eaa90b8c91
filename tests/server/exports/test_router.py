from __future__ import annotations

import csv
import io

import httpx
import openpyxl

from server.subjects import service as subjects
from server.subjects.schemas import SubjectCreate
from tests.factories import SYSTEM_ADMIN, World

ID_NUMBER = "510107199001011234"


async def _enrol(world: World, *, name: str, phone: str, grid_id: int, **extra: object) -> None:
    ctx = world.ctx
    body = SubjectCreate(full_name=name, phone=phone, grid_id=grid_id, observation_type="home",
                         reason=str(extra.pop("reason", "密切接触者")), **extra)  # type: ignore[arg-type]
    async with ctx.db.session() as session:
        await subjects.enrol(session, actor=SYSTEM_ADMIN, body=body, rules=ctx.settings.rules, now=ctx.now())


async def _xlsx(client: httpx.AsyncClient, url: str, headers: dict[str, str],
                **params: object) -> list[list[object]]:
    response = await client.get(url, params={"format": "xlsx", **params}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


async def _csv(client: httpx.AsyncClient, url: str, headers: dict[str, str], **params: object) -> list[list[str]]:
    response = await client.get(url, params={"format": "csv", **params}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.content.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


async def test_roster_export_opens_in_openpyxl_and_matches_the_roster(client: httpx.AsyncClient,
                                                                      world: World) -> None:
    for n in range(3):
        await _enrol(world, name=f"张{n}", phone=f"1370000000{n}", grid_id=world.grid_a.id)
    rows = await _xlsx(client, "/api/v1/exports/roster", world.admin_h)
    header, body = rows[0], rows[1:]
    assert header[:4] == ["姓名", "手机号", "网格", "状态"]
    roster = (await client.get("/api/v1/roster", params={"limit": 200}, headers=world.admin_h)).json()
    assert sorted(r[0] for r in body) == sorted(item["full_name"] for item in roster["items"])
    assert len(body) == roster["counts"]["total"] == 5
    by_name = {r[0]: r for r in body}
    assert by_name["张1"][1] == "137 0000 0001" and by_name["张1"][2] == "东园社区"
    # The same filters as the roster: one grid, a search.
    only_b = await _xlsx(client, "/api/v1/exports/roster", world.admin_h, grid_id=world.grid_b.id)
    assert [r[0] for r in only_b[1:]] == ["李华"]
    found = await _csv(client, "/api/v1/exports/roster", world.admin_h, q="张1")
    assert [r[0] for r in found[1:]] == ["张1"]


async def test_headers_follow_lang(client: httpx.AsyncClient, world: World) -> None:
    english = await _csv(client, "/api/v1/exports/roster", world.admin_h, lang="en")
    assert english[0][:3] == ["Full name", "Mobile phone", "Grid"]
    traditional = await _csv(client, "/api/v1/exports/roster", world.admin_h, lang="zh_Hant")
    assert traditional[0][0] == "姓名" and traditional[0][2] == "網格"


async def test_cells_that_would_run_as_formulas_are_neutralised(client: httpx.AsyncClient, world: World) -> None:
    await _enrol(world, name="=HYPERLINK(\"http://x\")", phone="13700000009", grid_id=world.grid_a.id,
                 address="+1 Main St", reason="@SUM(A1)")
    await _enrol(world, name="-2+3", phone="13700000008", grid_id=world.grid_a.id, address="-x")
    for rows in (await _xlsx(client, "/api/v1/exports/roster", world.admin_h, lang="en"),
                 await _csv(client, "/api/v1/exports/roster", world.admin_h, lang="en")):
        header = list(rows[0])
        cells = {str(r[0]): r for r in rows[1:]}
        formula = cells["'=HYPERLINK(\"http://x\")"]
        assert formula[header.index("Address")] == "'+1 Main St"
        assert formula[header.index("Reason for observation")] == "'@SUM(A1)"
        assert cells["'-2+3"][header.index("Address")] == "'-x"
        assert not any(isinstance(v, str) and v.startswith(("=", "+", "-", "@")) for r in rows for v in r)


async def test_id_numbers_are_masked_unless_admin(client: httpx.AsyncClient, world: World) -> None:
    await _enrol(world, name="赵六", phone="13700000007", grid_id=world.grid_a.id, id_number=ID_NUMBER)
    admin = await _csv(client, "/api/v1/exports/roster", world.admin_h, lang="en")
    clinician = await _csv(client, "/api/v1/exports/roster", world.clin_a, lang="en")
    column = admin[0].index("ID number")
    assert {r[0]: r[column] for r in admin[1:]}["赵六"] == ID_NUMBER
    assert {r[0]: r[column] for r in clinician[1:]}["赵六"] == "510***********1234"


async def test_a_clinician_exports_only_their_grids(client: httpx.AsyncClient, world: World) -> None:
    rows = await _csv(client, "/api/v1/exports/roster", world.clin_a)
    assert [r[0] for r in rows[1:]] == ["王小明"]
    foreign = await client.get("/api/v1/exports/roster", params={"grid_id": world.grid_b.id}, headers=world.clin_a)
    assert foreign.status_code == 403
    nobody = await client.get("/api/v1/exports/roster")
    assert nobody.status_code == 401
    person = await client.get("/api/v1/exports/roster", headers=world.subj_a)
    assert person.status_code == 401


async def test_readings_and_releases_in_a_period(client: httpx.AsyncClient, world: World) -> None:
    for headers, temperature in ((world.subj_a, 36.6), (world.subj_b, 38.0)):
        reading = await client.post("/api/v1/readings", json={"temperature_c": temperature}, headers=headers)
        assert reading.status_code == 201, reading.text
    today = world.ctx.now().astimezone(world.ctx.settings.rules.tz).date().isoformat()
    admin = await _xlsx(client, "/api/v1/exports/readings", world.admin_h, lang="en", **{"from": today, "to": today})
    assert admin[0][:4] == ["Full name", "Grid", "Time", "Temperature (°C)"]
    assert sorted((r[0], r[3], r[4]) for r in admin[1:]) == [("李华", 38.0, "Fever"), ("王小明", 36.6, "Normal")]
    clinician = await _csv(client, "/api/v1/exports/readings", world.clin_b, **{"from": today, "to": today})
    assert [r[0] for r in clinician[1:]] == ["李华"]
    before = await _csv(client, "/api/v1/exports/readings", world.admin_h, **{"from": "2026-01-01", "to": "2026-01-31"})
    assert before[1:] == []
    backwards = await client.get("/api/v1/exports/readings", params={"from": today, "to": "2026-01-01"},
                                 headers=world.admin_h)
    assert backwards.status_code == 422

    released = await client.post(f"/api/v1/subjects/{world.subject_a.id}/release",
                                 json={"override": True, "note": "=cmd|' /C calc'!A0"}, headers=world.admin_h)
    assert released.status_code == 200, released.text
    register = await _xlsx(client, "/api/v1/exports/releases", world.admin_h, lang="en",
                           **{"from": today, "to": today})
    header = register[0]
    (entry,) = register[1:]
    assert entry[0] == "王小明" and entry[header.index("Released by")] == "admin"
    assert entry[header.index("Released against the rules")] == "Yes"
    assert entry[header.index("Release note")] == "'=cmd|' /C calc'!A0"
    assert (await _csv(client, "/api/v1/exports/releases", world.clin_b, **{"from": today, "to": today}))[1:] == []


async def test_every_export_is_audited(client: httpx.AsyncClient, world: World) -> None:
    await _csv(client, "/api/v1/exports/roster", world.clin_a, status="ok")
    await _csv(client, "/api/v1/exports/readings", world.admin_h, **{"from": "2026-03-01", "to": "2026-03-10"})
    entries = (await client.get("/api/v1/audit", params={"action": "export.roster"}, headers=world.admin_h)).json()
    assert entries[0]["actor_name"] == "doc-a" and entries[0]["detail"]["status"] == "ok"
    readings = (await client.get("/api/v1/audit", params={"action": "export.readings"}, headers=world.admin_h)).json()
    assert readings[0]["detail"] == {"format": "csv", "start": "2026-03-01", "end": "2026-03-10"}
