"""The brief as an XLSX workbook: the day's table (areas, total, changes) and the 14-day trend."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Font

from server import labels
from server.brief.service import METRICS, Brief
from server.i18n import Translator


def workbook(brief: Brief, *, locale: str, title: str) -> bytes:
    _ = Translator(locale)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _("Daily brief")[:31]
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=14)
    names = [labels.brief_metric(_, m) for m in METRICS]
    sheet.append([_("Area"), *names, *[_("{metric}: change", metric=n) for n in names]])
    for row in [*brief.rows, brief.total]:
        sheet.append([row.name or _("Total"), *[row.values[m] for m in METRICS],
                      *[row.changes[m] for m in METRICS]])
    sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True)
    trend = book.create_sheet(_("Last 14 days")[:31])
    trend.append([_("Day"), _("Under observation"), labels.brief_metric(_, "new"), labels.brief_metric(_, "fever"),
                  labels.brief_metric(_, "released")])
    for d in brief.trend:
        trend.append([d.day, d.under_observation, d.new, d.fever, d.released])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
