"""Centralised observation sites."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.auth.principal import Staff
from server.errors import Conflict
from server.models import ACTIVE, Subject
from server.models.case import Site


async def create_site(session: AsyncSession, *, actor: Staff, name: str, address: str | None) -> Site:
    if await session.scalar(select(Site.id).where(Site.name == name)) is not None:
        raise Conflict("A site named “{name}” already exists.", name=name)
    site = Site(name=name, address=address)
    session.add(site)
    await session.flush()
    audit.record(session, actor, "site.created", site_id=site.id, name=site.name)
    return site


async def site_occupancy(session: AsyncSession) -> list[tuple[Site, int]]:
    """People under observation per site, for the admin summary."""
    counts = dict((await session.execute(
        select(Subject.site_id, func.count()).where(Subject.state == ACTIVE, Subject.site_id.is_not(None))
        .group_by(Subject.site_id))).all())
    sites = (await session.scalars(select(Site).order_by(Site.name))).all()
    return [(site, int(counts.get(site.id, 0))) for site in sites]
