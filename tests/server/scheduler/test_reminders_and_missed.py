"""Time-driven producers with an explicit clock: reminders before a window closes, missed-twice alerts,
and the release list at the end of observation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from monitoring import sweep_parameters
from server.context import AppContext
from server.models import Alert, Subject
from server.models.notifications import OutboxMessage
from server.notifications import generate_vapid_keys
from server.roster import rules_sql
from server.scheduler.service import next_wakeup, sweep_once
from server.settings import Settings
from tests.conftest import Clock
from tests.factories import World, enrol

PRIVATE_PEM, PUBLIC_KEY = generate_vapid_keys()
BEFORE_REMINDER = datetime(2026, 3, 10, 1, 30, tzinfo=UTC)  # 09:30 Shanghai; the morning window closes at 11:00
REMINDER_TIME = datetime(2026, 3, 10, 2, 0, 1, tzinfo=UTC)  # 10:00:01, an hour before it closes
SUBSCRIPTION = {"endpoint": "https://push.example.org/send/abc", "keys": {"p256dh": "BNc" + "x" * 80, "auth": "a" * 22}}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return Settings(**{
        **settings.model_dump(),
        "sms_url": "http://127.0.0.1:9/sms",
        "sms_body_template": '{"to": "{phone}", "text": "{text}"}',
        "vapid_private_key": PRIVATE_PEM,
        "vapid_public_key": PUBLIC_KEY,
        "vapid_subject": "mailto:ops@example.org",
        "webhook_url": "http://127.0.0.1:9/hook",
    })


async def _outbox(ctx: AppContext) -> list[OutboxMessage]:
    async with ctx.db.session() as session:
        return list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.dedupe_key))).all())


async def test_reminders_go_once_per_window_to_people_who_have_not_reported(
    app_ctx: AppContext, world: World, client: httpx.AsyncClient, clock: Clock,
) -> None:
    extra = await enrol(app_ctx, world.grid_a, name="张三", phone="13700137000")
    english = await enrol(app_ctx, world.grid_b, name="Ann", phone="13600136000")
    async with app_ctx.db.session() as session:
        subject = await session.get(Subject, english.id)
        assert subject is not None
        subject.language = "en"
    reported = await client.post("/api/v1/readings", headers=world.subj_a, json={"temperature_c": 36.6})
    assert reported.status_code == 201
    token = app_ctx.tokens.issue("subject", str(extra.id), extra.subject.access_code_version)
    added = await client.post("/api/v1/me/push-subscriptions", json=SUBSCRIPTION,
                              headers={"Authorization": f"Bearer {token}"})
    assert added.status_code == 201

    assert next_wakeup(BEFORE_REMINDER, app_ctx) == REMINDER_TIME
    await sweep_once(app_ctx, BEFORE_REMINDER)
    assert await _outbox(app_ctx) == []

    await sweep_once(app_ctx, REMINDER_TIME)
    rows = await _outbox(app_ctx)
    by_subject = {r.subject_id: r for r in rows}
    # 王小明 reported; the others are reminded, by push where they subscribed, else by SMS.
    assert set(by_subject) == {world.subject_b.id, extra.id, english.id}
    assert (by_subject[extra.id].channel, by_subject[extra.id].recipient) == ("webpush", None)
    sms = by_subject[world.subject_b.id]
    assert (sms.channel, sms.recipient) == ("sms", "+8613900139000")
    assert "11:00" in by_subject[world.subject_b.id].text and "12320" in by_subject[world.subject_b.id].text
    assert by_subject[english.id].title == "Temperature reminder"
    assert by_subject[world.subject_b.id].title == "体温上报提醒"
    assert all(r.dedupe_key.startswith("reminder:") and r.data["kind"] == "reminder" for r in rows)

    # Another process, or this one restarting mid-window: nothing repeats.
    await sweep_once(app_ctx, REMINDER_TIME + timedelta(minutes=20))
    assert len(await _outbox(app_ctx)) == 3
    removed = await client.delete("/api/v1/me/push-subscriptions", params={"endpoint": SUBSCRIPTION["endpoint"]},
                                  headers={"Authorization": f"Bearer {token}"})
    assert removed.status_code == 204


async def test_push_key_is_published_when_configured(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/push/key")
    assert response.status_code == 200 and response.json() == {"public_key": PUBLIC_KEY}
    worker = await client.get("/sw.js")
    assert worker.status_code == 200 and worker.headers["service-worker-allowed"] == "/"


async def test_missed_twice_opens_one_alert_per_window(
    app_ctx: AppContext, world: World, client: httpx.AsyncClient, clock: Clock,
) -> None:
    # Enrolled yesterday morning, so yesterday evening's window counts against them too.
    late = await enrol(app_ctx, world.grid_a, name="赵六", phone="13500135000", start_date=date(2026, 3, 9),
                       now=datetime(2026, 3, 9, 0, 0, tzinfo=UTC))
    morning_closed = datetime(2026, 3, 10, 3, 0, 1, tzinfo=UTC)  # 11:00:01: yesterday evening and this morning missed

    async def alerts() -> list[Alert]:
        async with app_ctx.db.session() as session:
            return list((await session.scalars(select(Alert).where(Alert.kind == "missed_twice")
                                               .order_by(Alert.opened_at))).all())

    await sweep_once(app_ctx, morning_closed)
    # Only 赵六: the others started today, so yesterday evening does not count against them.
    assert [a.subject_id for a in await alerts()] == [late.id]
    outbox = [r for r in await _outbox(app_ctx) if r.channel == "webhook"]
    assert [r.dedupe_key for r in outbox] == [f"alert:{(await alerts())[0].id}:webhook"]
    await sweep_once(app_ctx, morning_closed + timedelta(minutes=30))
    assert len(await alerts()) == 1

    clock.now = morning_closed + timedelta(minutes=40)
    ack = await client.post(f"/api/v1/alerts/{(await alerts())[0].id}/ack", json={"note": "电话已联系"},
                            headers=world.clin_a)
    assert ack.status_code == 200
    await sweep_once(app_ctx, morning_closed + timedelta(hours=1))
    assert len(await alerts()) == 1  # acknowledged, and this window already had its alert
    evening_closed = datetime(2026, 3, 10, 13, 0, 1, tzinfo=UTC)
    await sweep_once(app_ctx, evening_closed)
    # A new window missed: 赵六 again, and now the others too (both of today's windows went unreported).
    subjects = [a.subject_id for a in await alerts()]
    assert subjects.count(late.id) == 2 and set(subjects) == {late.id, world.subject_a.id, world.subject_b.id}


async def test_release_candidates_are_listed_in_scope(
    app_ctx: AppContext, world: World, client: httpx.AsyncClient,
) -> None:
    done = await enrol(app_ctx, world.grid_a, name="钱七", phone="13400134000", start_date=date(2026, 2, 20))
    await enrol(app_ctx, world.grid_b, name="孙八", phone="13300133000", start_date=date(2026, 2, 21))
    mine = await client.get("/api/v1/release-candidates", headers=world.clin_a)
    assert mine.status_code == 200
    body = mine.json()
    assert body["total"] == 1 and [i["subject_id"] for i in body["items"]] == [str(done.id)]
    assert isinstance(body["items"][0]["eligible"], bool) and "reasons" in body["items"][0]
    everyone = await client.get("/api/v1/release-candidates", headers=world.admin_h, params={"limit": 1})
    assert everyone.json()["total"] == 2 and len(everyone.json()["items"]) == 1


async def test_missed_twice_spares_people_enrolled_within_the_grace(
    app_ctx: AppContext, world: World, clock: Clock,
) -> None:
    # Enrolled at 20:30 on the day observation starts: neither the morning window nor the evening one
    # (it closes at 21:00, within the hour's grace) is held against them, as the roster says.
    evening = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)
    newcomer = await enrol(app_ctx, world.grid_a, name="周九", phone="13200132000", now=evening)
    after_evening = datetime(2026, 3, 10, 13, 0, 1, tzinfo=UTC)
    await sweep_once(app_ctx, after_evening)
    async with app_ctx.db.session() as session:
        alerted = set((await session.scalars(select(Alert.subject_id).where(Alert.kind == "missed_twice"))).all())
        p = sweep_parameters(after_evening, app_ctx.settings.rules)
        status = await session.scalar(select(rules_sql.status_rank(p)).where(Subject.id == newcomer.id))
    # The two people enrolled in the morning did miss both windows; the newcomer is fine.
    assert alerted == {world.subject_a.id, world.subject_b.id}
    assert status == 3
