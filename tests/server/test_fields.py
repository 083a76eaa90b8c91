"""Bounds on input (server/fields.py): ids, offsets and page numbers past what the database holds, and
control characters in text, answer 422 (or an ordinary page), never a 500, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest

from server.fields import has_control_characters, page_number
from tests.factories import World
from tests.server.pages.conftest import post_form, sign_in_staff

BIG = 2**31  # one past PostgreSQL's integer


async def test_ids_past_the_database_integer_are_refused_as_invalid(client: httpx.AsyncClient, world: World) -> None:
    for response in (
        await client.patch(f"/api/v1/users/{BIG}", headers=world.admin_h, json={"is_active": True}),
        await client.patch("/api/v1/users/0", headers=world.admin_h, json={"is_active": True}),
        await client.get("/api/v1/roster", headers=world.admin_h, params={"grid_id": 10**20}),
        await client.post("/api/v1/users", headers=world.admin_h,
                          json={"username": "doc-c", "password": "long-enough", "role": "clinician",
                                "grid_ids": [world.grid_a.id, BIG]}),
        await client.post("/api/v1/subjects", headers=world.admin_h,
                          json={"full_name": "张三", "phone": "13800000001", "grid_id": -(10**19),
                                "observation_type": "home", "reason": "返乡"}),
    ):
        assert response.status_code == 422, response.text
        assert response.json()["error"] == "invalid"


async def test_offsets_and_limits_are_bounded(client: httpx.AsyncClient, world: World) -> None:
    for path in ("/api/v1/roster", "/api/v1/alerts", "/api/v1/audit", "/api/v1/outbox", "/api/v1/release-candidates"):
        far = await client.get(path, headers=world.admin_h, params={"offset": 10**12})
        assert far.status_code == 422, (path, far.text)
        assert far.json()["errors"][0]["code"] == "less_than_equal"
        last = await client.get(path, headers=world.admin_h, params={"offset": 1_000_000})
        assert last.status_code == 200, (path, last.text)
    assert (await client.get("/api/v1/alerts", headers=world.admin_h, params={"limit": 501})).status_code == 422


@pytest.mark.parametrize("text", ["东园\x00社区", "line\nbreak", "bell\x07", "c1\x85"])
async def test_control_characters_in_one_line_text_are_refused(client: httpx.AsyncClient, world: World,
                                                               text: str) -> None:
    response = await client.post("/api/v1/grids", headers=world.admin_h, json={"name": text})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["code"] == "string_pattern_mismatch"
    assert "not allowed" in response.json()["detail"]


async def test_notes_keep_line_breaks_but_refuse_nul(client: httpx.AsyncClient, world: World) -> None:
    path = f"/api/v1/subjects/{world.subject_a.id}/note"
    kept = await client.put(path, headers=world.clin_a, json={"clinician_note": "第一行\r\n\t第二行"})
    assert kept.status_code == 200 and kept.json()["clinician_note"] == "第一行\r\n\t第二行"
    refused = await client.put(path, headers=world.clin_a, json={"clinician_note": "a\x00b"})
    assert refused.status_code == 422
    refused_query = await client.get("/api/v1/roster", headers=world.clin_a, params={"q": "王\x00"})
    assert refused_query.status_code == 422


async def test_a_username_with_nul_is_just_a_wrong_login(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post("/api/v1/auth/token", data={"username": "admin\x00", "password": "whatever1"})
    assert response.status_code == 401, response.text


async def test_pages_bound_page_numbers_and_ids(client: httpx.AsyncClient, world: World) -> None:
    sign_in_staff(client, world.ctx, world.admin)
    for path in (f"/roster?page_no={10**30}&grid={10**30}", f"/admin/audit?page_no={'9' * 5000}",
                 "/roster?q=%00"):
        response = await client.get(path)
        assert response.status_code == 200, (path, response.text[:300])
    account = await post_form(client, "/admin/staff", f"/admin/staff/{BIG}", {"action": "deactivate"})
    assert account.status_code in (404, 422)
    note = await post_form(client, f"/subjects/{world.subject_a.id}", f"/subjects/{world.subject_a.id}/note",
                           {"clinician_note": "a\x00b"})
    assert note.status_code == 422


def test_page_numbers_stay_within_the_offset_bound() -> None:
    assert page_number(None, page_size=50) == 1
    assert page_number("-3", page_size=50) == 1
    assert page_number("x", page_size=50) == 1
    assert (page_number(str(10**40), page_size=50) - 1) * 50 <= 1_000_000


def test_multiline_text_allows_only_line_breaks_and_tabs() -> None:
    assert not has_control_characters("a\r\n\tb", multiline=True)
    assert has_control_characters("a\r\nb")
    assert has_control_characters("a\x00b", multiline=True)
    assert has_control_characters("a\x1bb", multiline=True)
