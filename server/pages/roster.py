"""The clinicians' roster: who needs attention now, most severe first."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response

from monitoring import Status
from server.areas.service import narrow_for_page
from server.fields import db_id, page_number, visible
from server.grids.service import list_grids
from server.pages.rendering import FieldStaffPage
from server.roster.service import roster

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50


@router.get("/roster")
async def roster_page(page: FieldStaffPage, grid: str | None = None, status: str | None = None, q: str | None = None,
                      page_no: str | None = None, site: str | None = None, area: str | None = None) -> Response:
    staff, area_id = await narrow_for_page(page.session, staff=page.caller, area=area)
    grids = list(await list_grids(page.session, staff=staff))
    grid_id = db_id(grid)
    if grid_id is not None and not staff.sees_grid(grid_id):
        grid_id = None
    chosen_status = Status(status) if status is not None and status in Status.__members__ else None
    query = visible((q or "").strip()[:100]) or None
    number = page_number(page_no, page_size=PAGE_SIZE)
    result = await roster(page.session, staff=staff, rules=page.ctx.settings.rules, now=page.ctx.now(),
                          grid_id=grid_id, status=chosen_status, q=query, limit=PAGE_SIZE,
                          offset=(number - 1) * PAGE_SIZE, sweep=not page.ctx.settings.scheduler_enabled,
                          site_id=db_id(site))
    matching = getattr(result.counts, chosen_status.value) if chosen_status else result.counts.total
    pages = max(1, -(-matching // PAGE_SIZE))

    def link(**changes: object) -> str:
        params = {"area": area_id, "grid": grid_id, "status": chosen_status.value if chosen_status else None,
                  "q": query, "site": db_id(site), "page_no": None} | changes
        pairs = {k: v for k, v in params.items() if v not in (None, "")}
        return "/roster" + (f"?{urlencode(pairs)}" if pairs else "")

    def export(fmt: str) -> str:
        params = {"format": fmt, "lang": page.locale, "grid_id": grid_id, "area_id": area_id,
                  "status": chosen_status.value if chosen_status else None, "q": query, "site_id": db_id(site)}
        return "/api/v1/exports/roster?" + urlencode({k: v for k, v in params.items() if v not in (None, "")})

    return page.render(
        "staff/roster.html", export=export, result=result, grids=grids, grid_names={g.id: g.name for g in grids},
        grid_id=grid_id, status=chosen_status.value if chosen_status else None, q=query or "",
        page_no=number, pages=pages, matching=matching, link=link, statuses=[s.value for s in Status],
    )
