"""The command centre's daily brief as a page: on screen, printed on A4, or downloaded as XLSX."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response

from monitoring import local_date
from server import labels
from server.areas import service as areas
from server.brief import service
from server.brief.router import xlsx_response
from server.fields import db_id
from server.pages import charts
from server.pages.rendering import AnyStaffPage

router = APIRouter(include_in_schema=False)


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@router.get("/brief")
async def brief_page(page: AnyStaffPage, date: str | None = None, area_id: str | None = None,
                     format: str | None = None) -> Response:
    _ = page._
    now, rules = page.ctx.now(), page.ctx.settings.rules
    today = local_date(now, rules)
    day = min(_day(date) or today, today)
    area = db_id(area_id)
    result = await service.brief(page.session, staff=page.caller, day=day, now=now, rules=rules, area_id=area)
    if format == "xlsx":
        return xlsx_response(result, page.locale)
    days = [d.day for d in result.trend]
    chart = charts.trend_chart(
        days,
        [charts.Series(_("Under observation"), [d.under_observation for d in result.trend], "readings"),
         charts.Series(labels.brief_metric(_, "new"), [d.new for d in result.trend], "readings"),
         charts.Series(labels.brief_metric(_, "fever"), [d.fever for d in result.trend], "abnormal"),
         charts.Series(labels.brief_metric(_, "released"), [d.released for d in result.trend], "readings")],
        title=_("The last 14 days"),
        description=_("Under observation on {day}: {n}.", day=page.fmt.date(day),
                      n=result.trend[-1].under_observation if result.trend else 0),
        day_label=page.fmt.short_date,
    )

    def link(**changes: object) -> str:
        params = {"date": day.isoformat(), "area_id": area} | changes
        return "/brief?" + urlencode({k: v for k, v in params.items() if v not in (None, "")})

    return page.render(
        "staff/brief.html", brief=result, chart=chart, metrics=service.METRICS, day=day, today=today,
        areas=await areas.flat_tree(page.session, staff=page.caller), area_id=area, link=link,
        now_at=now if result.live else None, previous_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1) if day < today else None,
    )
