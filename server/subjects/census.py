"""Enrolment from a census list: a CSV file as grid workers keep it (Excel's UTF-8 or GB18030 export),
validated as a whole — one bad line and nothing is written, with every problem named by line."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring import Rules
from server.audit import service as audit
from server.auth.principal import Staff
from server.errors import Invalid
from server.models import Grid, Subject
from server.subjects.schemas import SubjectCreate
from server.subjects.service import enrol

MAX_ROWS = 5000

# Column headers as people write them, in Chinese or English.
COLUMNS = {
    "full_name": ("full_name", "name", "姓名"),
    "phone": ("phone", "手机", "手机号", "电话", "联系电话"),
    "grid": ("grid", "grid_id", "网格"),
    "observation_type": ("observation_type", "type", "观察方式", "观察类型"),
    "reason": ("reason", "原因", "观察原因"),
    "start_date": ("start_date", "开始日期", "观察开始日期"),
    "duration_days": ("duration_days", "天数", "观察天数"),
    "address": ("address", "地址", "住址"),
    "id_number": ("id_number", "身份证", "身份证号", "证件号码"),
    "date_of_birth": ("date_of_birth", "出生日期"),
    "language": ("language", "语言"),
}
OBSERVATION_TYPES = {"home": "home", "居家": "home", "居家观察": "home", "centralized": "centralized",
                     "集中": "centralized", "集中观察": "centralized", "集中隔离": "centralized"}


@dataclass(frozen=True, slots=True)
class CensusProblem:
    line: int
    detail: str


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise Invalid("The file is neither UTF-8 nor GB18030 text. Please save the list as CSV.")


def read_rows(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """(line number, {our column: value}) for each non-empty line after the header."""
    reader = csv.reader(io.StringIO(_decode(data)))
    header = next(reader, None)
    if not header:
        raise Invalid("The file is empty. The first line must name the columns, e.g. 姓名,手机号,网格,原因.")
    names = {alias.lower(): column for column, aliases in COLUMNS.items() for alias in aliases}
    columns = [names.get(h.strip().lower()) for h in header]
    missing = [c for c in ("full_name", "phone", "grid", "reason") if c not in columns]
    if missing:
        raise Invalid("The list has no column for: {columns}.", columns=", ".join(missing))
    rows = []
    for line, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        rows.append((line, {c: v.strip() for c, v in zip(columns, values, strict=False) if c}))
        if len(rows) > MAX_ROWS:
            raise Invalid("A list may have at most {max} people; please split it.", max=MAX_ROWS)
    if not rows:
        raise Invalid("The list has a header but no people.")
    return rows


def _date(value: str) -> date | None:
    return date.fromisoformat(value.replace("/", "-")) if value else None


async def import_census(
    session: AsyncSession, *, actor: Staff, data: bytes, rules: Rules, now: datetime
) -> list[tuple[int, Subject, str]]:
    """Enrol everyone on the list in one transaction; returns (line, subject, access code) for each."""
    rows = read_rows(data)
    grids = (await session.scalars(select(Grid))).all()
    by_name = {g.name: g.id for g in grids} | {str(g.id): g.id for g in grids}
    problems: list[CensusProblem] = []
    bodies: list[tuple[int, SubjectCreate]] = []
    for line, row in rows:
        try:
            grid_id = by_name.get(row.get("grid", ""))
            if grid_id is None:
                raise ValueError(f"no grid named “{row.get('grid', '')}”")
            fields: dict[str, Any] = {
                "full_name": row.get("full_name", ""), "phone": row.get("phone", ""), "grid_id": grid_id,
                "observation_type": OBSERVATION_TYPES.get(row.get("observation_type", "") or "home", "?"),
                "reason": row.get("reason", ""), "start_date": _date(row.get("start_date", "")),
                "duration_days": int(row["duration_days"]) if row.get("duration_days") else None,
                "address": row.get("address") or None, "id_number": row.get("id_number") or None,
                "date_of_birth": _date(row.get("date_of_birth", "")), "language": row.get("language") or None,
            }
            bodies.append((line, SubjectCreate(**fields)))
        except ValidationError as error:
            details = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
                                for e in error.errors())
            problems.append(CensusProblem(line, details))
        except ValueError as error:
            problems.append(CensusProblem(line, str(error)))
    if problems:
        raise Invalid("The list was not imported: {count} line(s) need fixing. Nothing was enrolled.",
                      count=len(problems), extra={"errors": [{"line": p.line, "detail": p.detail} for p in problems]})
    created = []
    for line, body in bodies:
        subject, code = await enrol(session, actor=actor, body=body, rules=rules, now=now)
        created.append((line, subject, code))
    audit.record(session, actor, "subjects.census_imported", count=len(created))
    return created
