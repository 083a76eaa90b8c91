"""Centralised observation sites."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import service as audit
from server.auth.principal import Staff
from server.errors import Conflict
from server.models.case import Site


async def create_site(session: AsyncSession, *, actor: Staff, name: str, address: str | None) -> Site:
    if await session.scalar(select(Site.id).where(Site.name == name)) is not None:
        raise Conflict("A site named “{name}” already exists.", name=name)
    site = Site(name=name, address=address)
    session.add(site)
    await session.flush()
    audit.record(session, actor, "site.created", site_id=site.id, name=site.name)
    return site
