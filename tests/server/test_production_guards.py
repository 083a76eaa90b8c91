"""Production refuses what is fine on a laptop: a short secret key, and the demo data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from server.cli import main
from server.settings import Settings

LONG_SECRET = "p" * 32


def test_a_short_secret_key_is_refused_in_production_with_a_clear_message() -> None:
    with pytest.raises(ValidationError, match="at least 32") as refused:
        Settings(environment="production", secret_key="s" * 31)
    assert "secrets.token_urlsafe" in str(refused.value)
    assert Settings(environment="production", secret_key=LONG_SECRET).secret_key == LONG_SECRET
    # Bytes, not characters: 11 Chinese characters are 33 bytes.
    assert Settings(environment="production", secret_key="密" * 11).environment == "production"
    assert Settings(environment="development", secret_key="short").secret_key == "short"


def test_the_demo_refuses_a_production_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                sqlite_template: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "prod.db"
    shutil.copy(sqlite_template, path)
    monkeypatch.setenv("HOMEWATCH_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.setenv("HOMEWATCH_SECRET_KEY", LONG_SECRET)
    monkeypatch.setenv("HOMEWATCH_ENVIRONMENT", "production")
    before = path.read_bytes()
    assert main(["demo", "--quiet"]) == 1
    assert "production" in capsys.readouterr().err
    assert path.read_bytes() == before
    assert main(["serve", "--demo"]) == 1
    assert path.read_bytes() == before


def test_turn_urls_without_the_shared_secret_are_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="HOMEWATCH_TURN_SECRET"):
        Settings(turn_urls="turn:turn.example.org:3478")
