from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from server.brief import service, spreadsheet
from server.brief.schemas import BriefRead, BriefRowRead, TrendDayRead
from server.deps import Ctx, CurrentAnyStaff, SessionDep
from server.exports.tabular import MEDIA_TYPES
from server.fields import DbId
from server.i18n import Translator

router = APIRouter(prefix="/brief", tags=["brief"])


def to_read(brief: service.Brief) -> BriefRead:
    def row(r: service.Row) -> BriefRowRead:
        return BriefRowRead(area_id=r.area_id, name=r.name, values=r.values, changes=r.changes)

    return BriefRead(date=brief.day, area_id=brief.area_id, live=brief.live, metrics=list(service.METRICS),
                     rows=[row(r) for r in brief.rows], total=row(brief.total),
                     trend=[TrendDayRead(date=d.day, under_observation=d.under_observation, new=d.new, fever=d.fever,
                                         released=d.released) for d in brief.trend])


def xlsx_response(brief: service.Brief, locale: str) -> Response:
    _ = Translator(locale)
    title = _("Daily brief of {day}", day=brief.day.isoformat())
    return Response(spreadsheet.workbook(brief, locale=locale, title=title), media_type=MEDIA_TYPES["xlsx"],
                    headers={"Content-Disposition": f'attachment; filename="brief-{brief.day.isoformat()}.xlsx"',
                             "Cache-Control": "no-store"})


_XLSX: dict[int | str, dict[str, Any]] = {200: {"content": {MEDIA_TYPES["xlsx"]: {}}}}


@router.get("", response_model=BriefRead, responses=_XLSX)
async def get_brief(
    staff: CurrentAnyStaff, ctx: Ctx, session: SessionDep,
    day: Annotated[date | None, Query(alias="date", description="The local day; today when left out")] = None,
    area_id: Annotated[DbId | None, Query(description="Only this area (a grid, until areas nest)")] = None,
    fmt: Annotated[Literal["json", "xlsx"], Query(alias="format")] = "json",
    lang: Annotated[Literal["zh_Hans", "zh_Hant", "en"], Query(description="Language of an XLSX")] = "zh_Hans",
) -> BriefRead | Response:
    """The daily brief: for the chosen day, one row per area in the caller's scope and their total —
    under observation at home and at a site, new, released, closed, fever, symptoms, missed the last
    window, referred, tests sampled / pending / positive, seen on video — each with its change since
    the day before, and the 14 days up to it. A past day is frozen when it ends and never changes; today
    is counted live. `format=xlsx` downloads it as a workbook."""
    brief = await service.brief(session, staff=staff, day=day, now=ctx.now(), rules=ctx.settings.rules,
                                area_id=area_id)
    if fmt == "xlsx":
        return xlsx_response(brief, lang)
    return to_read(brief)
