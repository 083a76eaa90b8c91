from __future__ import annotations

import threading

import pytest

from server.auth import security
from server.context import AppContext
from tests.factories import PASSWORD, World


async def test_password_hashes_are_checked_off_the_event_loop(
    app_ctx: AppContext, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked_in: list[threading.Thread] = []
    verify = security.verify_password

    def spy(password_hash: str | None, password: str) -> bool:
        checked_in.append(threading.current_thread())
        return verify(password_hash, password)

    monkeypatch.setattr(security, "verify_password", spy)
    signed_in = await app_ctx.sign_ins.staff(username="doc-a", password=PASSWORD, address="192.0.2.1",
                                             now=app_ctx.now())
    assert signed_in.caller.user_id == world.clinician_a.id
    assert checked_in and threading.main_thread() not in checked_in
