from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from monitoring import Status, local_date
from server.areas.service import narrow
from server.deps import Ctx, CurrentStaff, SessionDep
from server.exports import service, tabular
from server.exports.tabular import Format
from server.fields import DbId, Text

router = APIRouter(prefix="/exports", tags=["exports"])

Lang = Annotated[Literal["zh_Hans", "zh_Hant", "en"], Query(description="Language of the headers and words")]
FormatQuery = Annotated[Literal["csv", "xlsx"], Query(alias="format", description="`csv` (UTF-8 with BOM) or `xlsx`")]
From = Annotated[date, Query(alias="from", description="First local day, included")]
To = Annotated[date, Query(alias="to", description="Last local day, included")]

_FILE: dict[int | str, dict[str, Any]] = {200: {"description": "The table as a file download (streamed).",
               "content": {tabular.MEDIA_TYPES["csv"]: {}, tabular.MEDIA_TYPES["xlsx"]: {}}}}


def _download(export: service.Export, fmt: Format, ctx: Ctx) -> StreamingResponse:
    name = export.filename(fmt, local_date(ctx.now(), ctx.settings.rules))
    return StreamingResponse(tabular.stream(fmt, export.header, export.batches, title=export.title),
                             media_type=tabular.MEDIA_TYPES[fmt],
                             headers={"Content-Disposition": f'attachment; filename="{name}"',
                                      "Cache-Control": "no-store"})


@router.get("/roster", response_class=StreamingResponse, responses=_FILE)
async def export_roster(
    staff: CurrentStaff, ctx: Ctx, session: SessionDep, fmt: FormatQuery = "csv", lang: Lang = "zh_Hans",
    grid_id: DbId | None = None, status: Status | None = None,
    q: Annotated[Text | None, Query(max_length=100, description="Part of a name or phone number")] = None,
    site_id: DbId | None = None, area_id: DbId | None = None,
) -> StreamingResponse:
    """The roster with the same filters as `GET /roster`, every matching person in one table (by grid
    and name). Headers in Chinese unless `lang` says otherwise; ID numbers masked unless the caller is an
    administrator; cells that a spreadsheet would run as a formula start with an apostrophe. Audited."""
    staff = await narrow(session, staff=staff, area_id=area_id)
    export = await service.roster(session, db=ctx.db, staff=staff, rules=ctx.settings.rules, now=ctx.now(),
                                  locale=lang, fmt=fmt, grid_id=grid_id, status=status, q=q, site_id=site_id)
    return _download(export, fmt, ctx)


@router.get("/readings", response_class=StreamingResponse, responses=_FILE)
async def export_readings(staff: CurrentStaff, ctx: Ctx, session: SessionDep, start: From, end: To,
                          fmt: FormatQuery = "csv", lang: Lang = "zh_Hans",
                          area_id: DbId | None = None) -> StreamingResponse:
    """Every reading taken from `from` to `to` (local days, both included) by people in the caller's
    areas (or below `area_id`), oldest first. Audited."""
    staff = await narrow(session, staff=staff, area_id=area_id)
    export = await service.readings(session, db=ctx.db, staff=staff, rules=ctx.settings.rules, locale=lang,
                                    fmt=fmt, start=start, end=end)
    return _download(export, fmt, ctx)


@router.get("/releases", response_class=StreamingResponse, responses=_FILE)
async def export_releases(staff: CurrentStaff, ctx: Ctx, session: SessionDep, start: From, end: To,
                          fmt: FormatQuery = "csv", lang: Lang = "zh_Hans",
                          area_id: DbId | None = None) -> StreamingResponse:
    """The release register: people released from `from` to `to` (local days, both included) in the
    caller's areas (or below `area_id`), with who released them and whether against the rules. Audited."""
    staff = await narrow(session, staff=staff, area_id=area_id)
    export = await service.releases(session, db=ctx.db, staff=staff, rules=ctx.settings.rules, locale=lang,
                                    fmt=fmt, start=start, end=end)
    return _download(export, fmt, ctx)
