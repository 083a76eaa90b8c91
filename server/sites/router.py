"""Centralised observation sites (hotels, dormitories): created by administrators, listed for staff."""

from __future__ import annotations

from fastapi import APIRouter, status

from server.deps import CurrentAdmin, CurrentStaff, SessionDep
from server.sites import service
from server.sites.schemas import SiteCreate, SiteRead

router = APIRouter(prefix="/sites", tags=["sites"])


@router.post("", response_model=SiteRead, status_code=status.HTTP_201_CREATED,
             responses={409: {"description": "A site with this name exists."}})
async def create_site(body: SiteCreate, admin: CurrentAdmin, session: SessionDep) -> SiteRead:
    """Add a centralised observation site."""
    site = await service.create_site(session, actor=admin, name=body.name, address=body.address)
    return SiteRead(id=site.id, name=site.name, address=site.address, people=0)


@router.get("", response_model=list[SiteRead])
async def list_sites(staff: CurrentStaff, session: SessionDep) -> list[SiteRead]:
    """Every site with how many people are under observation there (sites are shared by the grids)."""
    return [SiteRead(id=site.id, name=site.name, address=site.address, people=people)
            for site, people in await service.site_occupancy(session)]
