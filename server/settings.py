"""Deployment settings: one object, read once from the environment (prefix ``HOMEWATCH_``)."""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from monitoring import Rules, parse_windows
from server.proxies import Network, parse_networks

DEVELOPMENT_SECRET = "development-only-secret-change-me"
MIN_SECRET_BYTES = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOMEWATCH_", env_file=".env", extra="ignore")

    environment: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite+aiosqlite:///./var/homewatch.db"
    secret_key: str = DEVELOPMENT_SECRET
    public_url: str = "http://127.0.0.1:8000"
    timezone: str = "Asia/Shanghai"
    reading_windows: str = "07:00-11:00,17:00-21:00"
    fever_c: float = 37.3
    high_fever_c: float = 38.5
    observation_days: int = Field(14, ge=1, le=60)
    default_language: str = "zh_Hans"
    hotline: str = "12320"
    redis_url: str | None = None
    # Processes of one deployment share this Redis stream; separate deployments on one Redis must not.
    event_stream: str = "homewatch:events"
    media_dir: Path = Path("var/media")
    # This process's own base URL as the other app processes reach it (http://10.0.0.5:8001): with several
    # processes, each check-in and call records the process holding its media, and video requests
    # arriving elsewhere are forwarded there. Unset: one process, nothing forwarded.
    internal_url: str | None = None
    ice_servers: str = ""
    # A TURN server using a shared secret (coturn's --use-auth-secret): pages and the app's own peers get
    # credentials of their own that expire after the lifetime; the secret itself never leaves the app.
    turn_urls: str = ""
    turn_secret: str | None = None
    turn_ttl_seconds: int = Field(600, ge=60, le=24 * 3600)
    checkin_max_seconds: float = Field(60, gt=0)
    checkin_max_sessions: int = Field(32, ge=1)
    checkin_snapshot_interval: float = Field(2.0, gt=0)
    checkin_max_snapshots: int = Field(10, ge=0)
    checkin_min_seconds: float = Field(10, ge=0)
    checkin_record: bool = False
    # A person may start this many video check-ins per window (every app process counts together);
    # each takes one of the process's media slots while it lasts.
    checkin_rate_limit: int = Field(6, ge=1)
    checkin_rate_window_seconds: int = Field(600, ge=1)
    # The public self-declaration form: this many declarations per client address and window (all processes).
    declaration_rate_limit: int = Field(30, ge=1)
    declaration_rate_window_seconds: int = Field(600, ge=1)
    # Snapshots are evidence for the observation period only; they are deleted this long after release.
    snapshot_retention_days: int = Field(30, ge=0)
    release_requires_checkin: bool = False
    staff_token_hours: float = 12
    subject_token_days: float = 30
    # Sign-in throttling, per username and per client address: this many failures are free, then each
    # one doubles the wait before the next attempt (1 s, 2 s, 4 s, …) up to the maximum; failures older
    # than the window are forgotten.
    login_free_failures: int = Field(5, ge=1)
    login_max_delay_seconds: int = Field(300, ge=1)
    login_failure_window_seconds: int = Field(900, ge=60)
    # Client addresses (or networks) of reverse proxies whose X-Forwarded-For is believed; comma-separated.
    # Empty: the connection's own address is the client's, whatever headers say.
    trusted_proxies: str = ""
    # A released person's link (and sign-in) stops working this many days after release.
    released_link_days: int = Field(7, ge=0)
    # Request bodies past these sizes are refused with 413 while they arrive, before any parsing: JSON and
    # forms everywhere, and the census upload (the file and its form around it).
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    max_upload_bytes: int = Field(40 * 1024 * 1024, ge=1024)
    # Census lists up to this many people are enrolled within the request; longer ones in the background.
    census_sync_rows: int = Field(5000, ge=1, le=5000)
    # PIPL's minimum necessary: this many days after release or closing, a case's personal data (name,
    # phone, ID number, address, date of birth, notes, pictures) is erased; 0 erases at the next run.
    retention_days: int = Field(30, ge=0)
    # The issuing authority printed on release certificates.
    district_name: str = "homewatch"
    # Release needs this many negative nucleic-acid results (0: no test rule); see monitoring.release.
    release_negative_tests: int = Field(0, ge=0, le=10)
    release_test_max_age_hours: float = Field(72, gt=0)
    # The identifier system of national ID numbers in the FHIR API (a deployment sets its registry's URI).
    fhir_id_number_system: str = "urn:homewatch:id-number"
    # /metrics (Prometheus text) is served only when this is set, and then only with it as bearer token.
    metrics_token: str | None = None
    sql_echo: bool = False
    # Each app process runs the status sweep loop; turn it off for tests that drive the clock by hand.
    scheduler_enabled: bool = True
    # Notification channels; each one left unset is simply not used (nothing set = in-app only).
    dingtalk_webhook_url: str | None = None
    dingtalk_secret: str | None = None
    dingtalk_msgtype: Literal["text", "markdown"] = "markdown"
    webhook_url: str | None = None
    webhook_headers: str | None = None
    sms_url: str | None = None
    sms_body_template: str | None = None
    sms_headers: str | None = None
    # The SMS gateway's shared secret for replies it forwards (POST /api/v1/sms/inbound); unset: no such route.
    sms_inbound_secret: str | None = None
    vapid_private_key: str | None = None
    vapid_public_key: str | None = None
    vapid_subject: str | None = None
    reminder_minutes_before_close: int = Field(60, ge=0, le=24 * 60)
    outbox_max_attempts: int = Field(8, ge=1)
    # Like the scheduler: tests deliver the outbox by hand with an explicit clock.
    outbox_worker_enabled: bool = True

    @field_validator("internal_url")
    @classmethod
    def _one_spelling(cls, value: str | None) -> str | None:
        # Compared with the owners recorded in the database: one spelling per process.
        return (value.strip().rstrip("/") or None) if value is not None else None

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.environment == "production" and self.secret_key == DEVELOPMENT_SECRET:
            raise ValueError("HOMEWATCH_SECRET_KEY must be set to a long random value in production")
        if self.environment == "production" and len(self.secret_key.encode()) < MIN_SECRET_BYTES:
            # It signs every sign-in and CSRF token: a short one can be guessed offline from any token.
            raise ValueError(
                f"HOMEWATCH_SECRET_KEY is {len(self.secret_key.encode())} bytes; production needs at least "
                f"{MIN_SECRET_BYTES}. Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'")
        if self.turn_urls.strip() and not self.turn_secret:
            raise ValueError("HOMEWATCH_TURN_URLS needs HOMEWATCH_TURN_SECRET (the TURN server's static-auth-secret)")
        # Fail at start-up, not on the first reading, when the windows or thresholds are malformed.
        self.rules  # noqa: B018
        self.trusted_proxy_networks  # noqa: B018
        return self

    @property
    def staff_channels(self) -> tuple[str, ...]:
        """Group channels that hear about every alert, in delivery order."""
        return tuple(name for name, on in (("dingtalk", self.dingtalk_webhook_url), ("webhook", self.webhook_url))
                     if on)

    @property
    def webpush_configured(self) -> bool:
        return bool(self.vapid_private_key and self.vapid_public_key and self.vapid_subject)

    @property
    def sms_configured(self) -> bool:
        return bool(self.sms_url and self.sms_body_template)

    def channel_settings(self) -> dict[str, str | None]:
        """The string settings the channel adapters are built from (see ``build_channels``)."""
        values = {key: value for key, value in self.model_dump().items() if isinstance(value, str) or value is None}
        if private_key := values.get("vapid_private_key"):
            # A PEM set through a plain environment variable often arrives with "\n" written out.
            values["vapid_private_key"] = private_key.replace("\\n", "\n")
        return values

    @cached_property
    def trusted_proxy_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.trusted_proxies)

    @cached_property
    def rules(self) -> Rules:
        return Rules(
            timezone=self.timezone,
            windows=parse_windows(self.reading_windows),
            fever_c=self.fever_c,
            high_fever_c=self.high_fever_c,
            observation_days=self.observation_days,
            release_requires_checkin=self.release_requires_checkin,
            release_negative_tests=self.release_negative_tests,
            release_test_max_age=timedelta(hours=self.release_test_max_age_hours),
        )
