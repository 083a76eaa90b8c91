"""Release certificates: issued at release, printed by staff and the person, verified by checkpoints
(a public page and API that say only what a checkpoint needs), revoked when a person is readmitted."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring import Rules, local_date
from monitoring.course import CertificateStatus, certificate_status, masked_name
from server.models import Subject
from server.models.case import Certificate

# Tokens are 128 bits of HMAC output in URL-safe base64: unguessable, and only a database lookup of
# their hash says whether one exists, so a guess teaches nothing about any other certificate.
_TOKEN_BYTES = 16


def token_for(certificate_id: uuid.UUID, secret_key: str) -> str:
    digest = hmac.new(secret_key.encode(), b"certificate:" + certificate_id.bytes, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:_TOKEN_BYTES]).rstrip(b"=").decode()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def verify_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/verify/{token}"


def issue(session: AsyncSession, subject: Subject, *, secret_key: str, rules: Rules, now: datetime) -> Certificate:
    """The certificate of a release happening now (the caller has just released ``subject``)."""
    certificate_id = uuid.uuid4()
    released_on = local_date(now, rules)
    certificate = Certificate(
        id=certificate_id, subject_id=subject.id, token_hash=hash_token(token_for(certificate_id, secret_key)),
        start_date=subject.start_date, end_date=min(subject.planned_end_date, released_on),
        released_on=released_on, issued_at=now,
    )
    session.add(certificate)
    return certificate


async def revoke_all(session: AsyncSession, subject_id: uuid.UUID, *, now: datetime) -> int:
    result = await session.execute(
        update(Certificate).where(Certificate.subject_id == subject_id, Certificate.revoked_at.is_(None))
        .values(revoked_at=now))
    return int(getattr(result, "rowcount", 0) or 0)


async def current(session: AsyncSession, subject_id: uuid.UUID) -> Certificate | None:
    """The person's certificate still in force, if any."""
    return await session.scalar(
        select(Certificate).where(Certificate.subject_id == subject_id, Certificate.revoked_at.is_(None))
        .order_by(Certificate.issued_at.desc()).limit(1))


@dataclass(frozen=True, slots=True)
class Verification:
    """Everything a checkpoint is shown: nothing that identifies the person on its own."""

    status: CertificateStatus
    masked_name: str | None
    released_on: date
    issuer: str


async def verify(session: AsyncSession, token: str, *, issuer: str) -> Verification | None:
    """What a verification link says, or None for a token that was never issued."""
    if not token or len(token) > 64:
        return None
    row = (await session.execute(
        select(Certificate, Subject.full_name, Subject.erased_at)
        .join(Subject, Subject.id == Certificate.subject_id)
        .where(Certificate.token_hash == hash_token(token)))).first()
    if row is None:
        return None
    certificate, full_name, erased_at = row
    status = certificate_status(revoked=certificate.revoked_at is not None, erased=erased_at is not None)
    return Verification(status=status, masked_name=None if status == "expired" else masked_name(full_name),
                        released_on=certificate.released_on, issuer=issuer)
