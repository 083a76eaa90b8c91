"""The audit trail names who signed in and out, who opened their link, who changed reminders and who
sent a failed notification again: the real actor each time, never "system"."""

from __future__ import annotations

import httpx

from server.audit.service import list_entries
from server.context import AppContext
from server.labels import audit_action
from server.models.notifications import FAILED, OutboxMessage
from server.pages.rendering import Translator
from tests.factories import PASSWORD, World

SUBSCRIPTION = {"endpoint": "https://push.example.org/send/abc", "keys": {"p256dh": "BNc" + "x" * 80, "auth": "a" * 22}}


async def _trail(ctx: AppContext) -> list[tuple[str, str, str | None, str | None]]:
    async with ctx.db.session() as session:
        entries = await list_entries(session, limit=100)
    return [(e.action, e.actor_kind, e.actor_id, str(e.subject_id) if e.subject_id else None)
            for e in reversed(entries) if not e.action.startswith(("subject.enrolled", "grid.", "user."))]


async def test_sign_in_and_out_are_recorded_with_who_did_it(
    client: httpx.AsyncClient, app_ctx: AppContext, world: World
) -> None:
    token = (await client.post("/api/v1/auth/token", data={"username": "doc-a", "password": PASSWORD})).json()
    await client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {token['access_token']}"})
    opened = await client.get(f"/s/{world.subject_a.code}")
    assert opened.status_code == 303
    await client.post("/api/v1/auth/logout", headers=world.subj_a)
    doctor, person = str(world.clinician_a.id), str(world.subject_a.id)
    assert await _trail(app_ctx) == [
        ("staff.login", "staff", doctor, None),
        ("staff.logout", "staff", doctor, None),
        ("subject.signed_in", "subject", person, person),
        ("subject.logout", "subject", person, person),
    ]


async def test_reminder_subscriptions_and_outbox_retries_are_recorded(
    client: httpx.AsyncClient, app_ctx: AppContext, world: World
) -> None:
    person = str(world.subject_a.id)
    assert (await client.post("/api/v1/me/push-subscriptions", json=SUBSCRIPTION, headers=world.subj_a)
            ).status_code == 201
    assert (await client.delete("/api/v1/me/push-subscriptions", params={"endpoint": SUBSCRIPTION["endpoint"]},
                                headers=world.subj_a)).status_code == 204
    async with app_ctx.db.session() as session:
        message = OutboxMessage(channel="sms", recipient="13800138000", subject_id=world.subject_a.id, title="t",
                                text="t", dedupe_key="test:1", status=FAILED, attempts=8)
        session.add(message)
    assert (await client.post(f"/api/v1/outbox/{message.id}/retry", headers=world.admin_h)).status_code == 200
    assert await _trail(app_ctx) == [
        ("push.subscribed", "subject", person, person),
        ("push.unsubscribed", "subject", person, person),
        ("outbox.retried", "staff", str(world.admin.id), person),
    ]


def test_every_new_action_has_a_label_in_each_language() -> None:
    actions = ["staff.login_failed", "staff.login_throttled", "staff.logout", "subject.logout", "subject.signed_in",
               "subject.link_refused", "subject.link_throttled", "subject.link_closed", "push.subscribed",
               "push.unsubscribed", "outbox.retried", "call.hosted"]
    for locale in ("en", "zh_Hans", "zh_Hant"):
        _ = Translator(locale)
        labels = [audit_action(_, action) for action in actions]
        assert all(label != action for label, action in zip(labels, actions, strict=True)), (locale, labels)
        if locale != "en":
            assert all(not label.isascii() for label in labels), (locale, labels)
