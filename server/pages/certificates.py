"""Release certificates as paper: the staff's print view, the person's own copy, and the public page a
checkpoint opens from the QR code."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from server.errors import NotFound
from server.models import Subject
from server.models.case import Certificate
from server.pages import charts
from server.pages.rendering import AnyPage, Page, StaffPage, SubjectPage, parse_uuid
from server.subjects import certificates
from server.subjects.service import look_at, mask_id_number

router = APIRouter(include_in_schema=False)


def _context(page: Page[Any], subject: Subject, certificate: Certificate) -> dict[str, Any]:
    settings = page.ctx.settings
    url = certificates.verify_url(settings.public_url, certificates.token_for(certificate.id, settings.secret_key))
    return {
        "s": subject, "c": certificate, "id_masked": mask_id_number(subject.id_number), "verify_url": url,
        "qr": charts.qr_svg(url, title=page._("QR code to check this certificate")),
        "district": settings.district_name,
        "days": (certificate.end_date - certificate.start_date).days,
    }


@router.get("/subjects/{subject_id}/certificate")
async def staff_certificate(subject_id: str, page: StaffPage) -> Response:
    """The release certificate, print-ready on A4 (staff of the person's grid and administrators)."""
    sid = parse_uuid(subject_id)
    if sid is None:
        raise NotFound("No such person in your grids.")
    subject = await look_at(page.session, staff=page.caller, subject_id=sid, action="certificate.viewed")
    certificate = await certificates.current(page.session, subject.id)
    if certificate is None or subject.erased_at is not None:
        raise NotFound("This person has no release certificate.")
    return page.render("certificate.html", **_context(page, subject, certificate))


@router.get("/me/certificate")
async def my_certificate(page: SubjectPage) -> Response:
    """The person's own copy, linked from their released page."""
    subject = page.caller.subject
    certificate = await certificates.current(page.session, subject.id)
    if certificate is None:
        raise NotFound("You have no release certificate.")
    return page.render("certificate.html", **_context(page, subject, certificate))


@router.get("/verify/{token}")
async def verify(token: str, page: AnyPage) -> Response:
    """What a checkpoint sees after scanning the QR code: valid, revoked or expired, with the masked name
    and the release date, and nothing else."""
    result = await certificates.verify(page.session, token, issuer=page.ctx.settings.district_name)
    response = page.render("verify.html", status_code=200 if result else 404, result=result)
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
