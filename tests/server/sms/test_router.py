"""Readings by SMS reply: the gateway's webhook, its secret, one reading per message, an answer to everyone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from server.context import AppContext
from server.models import Alert, Reading
from server.models.notifications import OutboxMessage
from server.scheduler.service import sweep_once
from server.settings import Settings
from tests.conftest import make_settings
from tests.factories import World, enrol

SECRET = "gateway-shared-secret-0123456789"
GATEWAY = {"Authorization": f"Bearer {SECRET}"}
REMINDER_TIME = datetime(2026, 3, 10, 2, 0, 1, tzinfo=UTC)  # 10:00:01 Shanghai, an hour before 11:00


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return Settings(**{
        **settings.model_dump(),
        "sms_inbound_secret": SECRET,
        "sms_url": "http://127.0.0.1:9/sms",
        "sms_body_template": '{"to": "{phone}", "text": "{text}"}',
        "webhook_url": "http://127.0.0.1:9/hook",
    })


async def _sms(client: httpx.AsyncClient, text: str, *, sender: str = "13800138000", message_id: str = "m-1",
               headers: dict[str, str] | None = None) -> httpx.Response:
    return await client.post("/api/v1/sms/inbound", headers=GATEWAY if headers is None else headers,
                             json={"message_id": message_id, "from": sender, "text": text})


async def _readings(ctx: AppContext) -> list[Reading]:
    async with ctx.db.session() as session:
        return list((await session.scalars(select(Reading).order_by(Reading.received_at))).all())


async def _replies(ctx: AppContext) -> list[OutboxMessage]:
    async with ctx.db.session() as session:
        return list((await session.scalars(
            select(OutboxMessage).where(OutboxMessage.channel == "sms").order_by(OutboxMessage.created_at))).all())


async def test_a_reply_from_a_person_under_observation_is_their_reading(
    client: httpx.AsyncClient, world: World, app_ctx: AppContext
) -> None:
    response = await _sms(client, "３６，８ 咳嗽", sender="138 0013 8000")
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "reading"
    [reading] = await _readings(app_ctx)
    assert reading.subject_id == world.subject_a.id and str(reading.id) == response.json()["reading_id"]
    assert (reading.temperature_c, reading.symptoms, reading.source) == (36.8, ["cough"], "sms")
    [reply] = await _replies(app_ctx)
    assert reply.recipient == "+8613800138000"
    assert "36.8 °C" in reply.text and "症状" in reply.text
    # Through the one reading path: the symptom opened an alert in the person's grid.
    alerts = (await client.get("/api/v1/alerts", headers=world.clin_a)).json()
    assert [a["kind"] for a in alerts] == ["symptoms"]


async def test_a_fever_by_sms_is_answered_that_the_clinic_will_call_and_staff_are_alerted(
    client: httpx.AsyncClient, world: World, app_ctx: AppContext
) -> None:
    response = await _sms(client, "38.6", sender="+86 139 0013 9000")
    assert response.json()["outcome"] == "reading"
    [reply] = await _replies(app_ctx)
    assert "38.6 °C" in reply.text and "诊所" in reply.text and "120" in reply.text
    async with app_ctx.db.session() as session:
        alert = await session.scalar(select(Alert))
        assert alert is not None and alert.kind == "high_fever" and alert.subject_id == world.subject_b.id
        staff = (await session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "webhook"))).all()
    assert len(staff) == 1


async def test_the_same_message_twice_is_one_reading_and_one_answer(
    client: httpx.AsyncClient, world: World, app_ctx: AppContext
) -> None:
    first = await _sms(client, "36.6", message_id="gw-42")
    second = await _sms(client, "36.6", message_id="gw-42")
    assert first.json() == second.json()
    assert len(await _readings(app_ctx)) == 1 and len(await _replies(app_ctx)) == 1
    other = await _sms(client, "36.7", message_id="gw-43")
    assert other.json()["outcome"] == "reading" and len(await _readings(app_ctx)) == 2


@pytest.mark.parametrize("text", ["hello", "36.8 37.2", "45", "咳嗽"])
async def test_anything_else_gets_the_help_text_and_stores_nothing(
    client: httpx.AsyncClient, world: World, app_ctx: AppContext, text: str
) -> None:
    response = await _sms(client, text)
    assert response.json() == {"message_id": "m-1", "outcome": "help", "reading_id": None}
    assert await _readings(app_ctx) == []
    [reply] = await _replies(app_ctx)
    assert "36.8" in reply.text and "12320" in reply.text


async def test_unknown_released_and_shared_numbers_store_nothing(
    client: httpx.AsyncClient, world: World, app_ctx: AppContext
) -> None:
    unknown = await _sms(client, "36.6", sender="13700000000", message_id="a")
    assert unknown.json()["outcome"] == "unknown_sender"
    nonsense = await _sms(client, "36.6", sender="not a number", message_id="b")
    assert nonsense.json()["outcome"] == "unknown_sender"
    await enrol(app_ctx, world.grid_a, name="王奶奶", phone="13800138000")  # shares 王小明's phone
    shared = await _sms(client, "36.6", sender="13800138000", message_id="c")
    assert shared.json()["outcome"] == "ambiguous"
    assert await _readings(app_ctx) == []
    # Answers go to numbers we can write to; "not a number" gets none.
    assert [r.recipient for r in await _replies(app_ctx)] == ["+8613700000000", "+8613800138000"]


async def test_released_people_are_no_longer_under_observation(
    client: httpx.AsyncClient, world: World, app_ctx: AppContext
) -> None:
    released = await client.post(f"/api/v1/subjects/{world.subject_a.id}/release", headers=world.admin_h,
                                 json={"override": True, "note": "转院"})
    assert released.status_code == 200
    assert (await _sms(client, "36.6")).json()["outcome"] == "unknown_sender"
    assert await _readings(app_ctx) == []


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {SECRET}"},
                                     {"Authorization": f"Bearer {SECRET}x"}])
async def test_only_the_gateway_secret_is_accepted(
    client: httpx.AsyncClient, world: World, app_ctx: AppContext, headers: dict[str, str]
) -> None:
    response = await _sms(client, "36.6", headers=headers)
    assert response.status_code == 401
    assert await _readings(app_ctx) == []


async def test_staff_and_people_tokens_are_not_the_gateway(
    client: httpx.AsyncClient, world: World, app_ctx: AppContext
) -> None:
    for headers in (world.admin_h, world.clin_a, world.subj_a):
        assert (await _sms(client, "36.6", headers=headers)).status_code == 401
    assert await _readings(app_ctx) == []


async def test_without_a_secret_the_route_is_off(db_url: str, tmp_path: Path, world: World) -> None:
    from server.app import create_app

    app = create_app(make_settings(db_url, tmp_path))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://homewatch.test") as off:
        response = await _sms(off, "36.6")
        assert response.status_code == 404
        assert (await _sms(off, "36.6", headers={"Authorization": "Bearer "})).status_code == 404


async def test_sms_reminders_say_how_to_reply(client: httpx.AsyncClient, world: World, app_ctx: AppContext) -> None:
    await sweep_once(app_ctx, REMINDER_TIME)
    async with app_ctx.db.session() as session:
        reminders = (await session.scalars(select(OutboxMessage).where(OutboxMessage.data["kind"].as_string()
                                                                      == "reminder"))).all()
        count = await session.scalar(select(func.count()).select_from(OutboxMessage))
    assert count == len(reminders) == 2
    assert all(r.channel == "sms" and "回复" in r.text and "36.8" in r.text and "11:00" in r.text for r in reminders)
