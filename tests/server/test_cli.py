"""The homewatch command: migrate, create staff, seed the demo district."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from monitoring import Rules
from server.cli import main
from server.db import Database
from server.models import RELEASED, Subject, User
from server.roster.service import counts_by_grid


def _state(db_url: str) -> tuple[dict[str, int], int, list[tuple[str, str]]]:
    async def read() -> tuple[dict[str, int], int, list[tuple[str, str]]]:
        db = Database.from_url(db_url)
        try:
            async with db.session() as session:
                by_grid = await counts_by_grid(session, now=datetime.now(UTC), rules=Rules())
                released = await session.scalar(select(func.count()).where(Subject.state == RELEASED))
                users = (await session.execute(select(User.username, User.role).order_by(User.username))).all()
        finally:
            await db.dispose()
        ranks: Counter[str] = Counter()
        for by_status in by_grid.values():
            ranks.update({status.value: n for status, n in by_status.items()})
        return ({status: n for status, n in ranks.items() if n}, int(released or 0),
                [(u, r) for u, r in users])

    return asyncio.run(read())


def test_create_user_and_demo_district(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    # A new SQLite file, as on a first `make run`: the command migrates it from nothing.
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'var' / 'homewatch.db'}"
    monkeypatch.setenv("HOMEWATCH_DATABASE_URL", db_url)
    monkeypatch.setenv("HOMEWATCH_SECRET_KEY", "cli-test-secret-key-long-enough")
    monkeypatch.setenv("HOMEWATCH_MEDIA_DIR", str(tmp_path / "media"))
    assert main(["migrate"]) == 0
    assert main(["create-user", "nurse", "--role", "clinician", "--password", "long-enough-pw",
                 "--grid", "东园", "--grid", "西岭"]) == 0
    assert main(["create-user", "nurse", "--role", "clinician", "--password", "long-enough-pw"]) == 1
    assert "taken" in capsys.readouterr().err
    assert main(["demo"]) == 0
    printed = capsys.readouterr().out
    assert "/s/" in printed and "homewatch-admin" in printed
    statuses, released, users = _state(db_url)
    assert ("nurse", "clinician") in users and ("admin", "admin") in users
    # Every state is on show: fever or symptoms, a missed window, and the quiet majority.
    assert statuses.get("abnormal", 0) >= 9 and statuses.get("missed", 0) >= 1
    assert sum(statuses.values()) >= 45 and released >= 3
    # Video states too: today's check-ins with their snapshot files (none in a day's first 5 minutes).
    snapshots = list((tmp_path / "media").rglob("*.jpg"))
    assert len(snapshots) >= 60 or _minutes_into_local_day() < 5
    assert main(["demo", "--if-empty", "--quiet"]) == 0  # a second run adds nothing
    assert _state(db_url)[0] == statuses


def _minutes_into_local_day() -> float:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    now = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai"))
    return now.hour * 60 + now.minute + now.second / 60
