"""Reminders and staff alerts in each reader's language, from the catalogues (Traditional included)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from monitoring import open_window
from server.context import AppContext
from server.models import Alert, Subject
from server.models.notifications import OutboxMessage
from server.notifications.channels import OutboundMessage
from server.notifications.messages import alert_line
from server.notifications.outbox import deliver_due, enqueue_reminders, enqueue_staff_alert
from server.settings import Settings
from tests.factories import World, enrol

REMINDER_TIME = datetime(2026, 3, 10, 2, 0, 1, tzinfo=UTC)  # 10:00 in Shanghai; the window closes at 11:00


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Traditional as the deployment's language, so people without one of their own read it too.
    return Settings(**{**settings.model_dump(), "sms_url": "http://127.0.0.1:9/sms",
                       "sms_body_template": '{"to": "{phone}", "text": "{text}"}', "default_language": "zh_Hant"})


@pytest.mark.parametrize(("language", "line"), [
    ("zh_Hans", "王小明: 高热 39.1 °C"),
    ("zh_Hant", "王小明: 高熱 39.1 °C"),
    ("en", "王小明: High fever 39.1 °C"),
    (None, "王小明: 高热 39.1 °C"),
    ("fr", "王小明: 高热 39.1 °C"),
])
def test_alert_lines_are_translated(language: str | None, line: str) -> None:
    assert alert_line(kind="high_fever", subject_name="王小明", temperature_c=39.1, language=language) == line


def test_every_alert_kind_has_words_in_traditional() -> None:
    kinds = ("high_fever", "fever", "symptoms", "missed_twice", "callback_request")
    lines = [alert_line(kind=k, subject_name="李华", temperature_c=None, language="zh_Hant") for k in kinds]
    assert lines == ["李华: 高熱", "李华: 發熱", "李华: 症狀", "李华: 連續兩次未上報", "李华: 請求回電"]


async def test_reminders_are_written_in_each_persons_language_by_one_insert(
    app_ctx: AppContext, world: World,
) -> None:
    english = await enrol(app_ctx, world.grid_a, name="Ann", phone="13600136000")
    async with app_ctx.db.session() as session:
        for enrolled, language in ((world.subject_a, "zh_Hans"), (english, "en")):
            subject = await session.get(Subject, enrolled.id)
            assert subject is not None
            subject.language = language
    window = open_window(REMINDER_TIME, app_ctx.settings.rules)
    assert window is not None
    async with app_ctx.db.session() as session:
        added = await enqueue_reminders(session, window=window, settings=app_ctx.settings, now=REMINDER_TIME)
    assert added == 3
    async with app_ctx.db.session() as session:
        rows = {r.subject_id: (r.title, r.text) for r in await session.scalars(select(OutboxMessage))}
    assert rows == {
        world.subject_a.id: ("体温上报提醒", "请在 11:00 前测量体温并上报。如有不适请拨打 12320。"),
        # No language of their own: the deployment's.
        world.subject_b.id: ("體溫上報提醒", "請在 11:00 前測量體溫並上報。如有不適請撥打 12320。"),
        english.id: ("Temperature reminder",
                     "Please take your temperature and report it before 11:00. Feeling unwell? Call 12320."),
    }


class Recording:
    name = "webhook"

    def __init__(self) -> None:
        self.sent: list[OutboundMessage] = []

    async def send(self, message: OutboundMessage) -> None:
        self.sent.append(message)


async def test_staff_alerts_and_their_batch_title_in_traditional(app_ctx: AppContext, world: World) -> None:
    now = app_ctx.now()
    async with app_ctx.db.session() as session:
        for enrolled, kind, temperature in ((world.subject_a, "high_fever", 39.1), (world.subject_b, "symptoms", None)):
            subject = await session.get(Subject, enrolled.id)
            assert subject is not None
            alert = Alert(subject_id=subject.id, grid_id=subject.grid_id, kind=kind, temperature_c=temperature,
                          opened_at=now)
            session.add(alert)
            await session.flush()
            enqueue_staff_alert(session, alert=alert, subject=subject, channels=["webhook"], now=now,
                                language="zh_Hant")
    async with app_ctx.db.session() as session:
        rows = {(r.title, r.text) for r in await session.scalars(select(OutboxMessage))}
    assert rows == {("居家觀察警報", "李华: 症狀"), ("居家觀察警報", "王小明: 高熱 39.1 °C")}
    channel = Recording()
    assert await deliver_due(app_ctx, now=now, channels={"webhook": channel}) == 2
    [message] = channel.sent
    assert message.title == "居家觀察警報（2 則）"
    assert sorted(message.text.splitlines()) == ["- 李华: 症狀", "- 王小明: 高熱 39.1 °C"]
