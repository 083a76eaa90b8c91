"""Enrolment from a census list: a CSV file as grid workers keep it (Excel's UTF-8 or GB18030 export),
validated as a whole — one bad line and nothing is written, with every problem named by line."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring import Rules
from monitoring.course import Identity, duplicate_of
from server import i18n, labels, validation
from server.audit import service as audit
from server.auth.principal import Staff
from server.errors import Invalid
from server.models import Grid, Subject
from server.models.households import Household
from server.subjects.schemas import SubjectCreate
from server.subjects.service import enrol, find_duplicates, identity
from server.validation import InvalidInput, Problem

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
    "last_exposure_date": ("last_exposure_date", "末次暴露日期", "最后接触日期"),
    "address": ("address", "地址", "住址"),
    "id_number": ("id_number", "身份证", "身份证号", "证件号码"),
    "date_of_birth": ("date_of_birth", "出生日期"),
    "language": ("language", "语言"),
    "household_id": ("household", "household_id", "户", "户号", "家庭"),
}
OBSERVATION_TYPES = {"home": "home", "居家": "home", "居家观察": "home", "centralized": "centralized",
                     "集中": "centralized", "集中观察": "centralized", "集中隔离": "centralized"}


REQUIRED = ("full_name", "phone", "grid", "reason")


def _header_names() -> dict[str, str]:
    """Header (lower case) → our column: the aliases above, and each column's label in every language
    of the pages, so the name an error message gives for a missing column is always accepted."""
    names = {alias.lower(): column for column, aliases in COLUMNS.items() for alias in aliases}
    for locale in i18n.LOCALES:
        _ = i18n.Translator(locale)
        for column in COLUMNS:
            names.setdefault(labels.field(_, column).lower(), column)
    return names


def _language(value: str) -> str | None:
    """A language as a list may write it: zh_Hant, zh-TW, 繁體中文 or English; "" for unknown."""
    if not value:
        return None
    by_name = {name.lower(): locale for locale, name in i18n.LOCALE_NAMES.items()}
    return by_name.get(value.lower()) or i18n.normalise(value) or ""


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
    names = _header_names()
    columns = [names.get(h.strip().lower()) for h in header]
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise InvalidInput("The list is missing columns it needs. Nothing was enrolled.",
                           problems=[validation.custom(c, "missing_column") for c in missing])
    rows = []
    try:
        for line, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue
            rows.append((line, {c: v.strip() for c, v in zip(columns, values, strict=False) if c}))
            if len(rows) > MAX_ROWS:
                raise Invalid("A list may have at most {max} people; please split it.", max=MAX_ROWS)
    except csv.Error as error:
        # A field past the csv module's size limit (128 KiB) ends the reading there: name the line.
        raise InvalidInput("The list was not imported: {count} line(s) need fixing. Nothing was enrolled.",
                           count=1, problems=[validation.custom("", "unreadable_line", line=reader.line_num)]) \
            from error
    if not rows:
        raise Invalid("The list has a header but no people.")
    return rows


def _date(value: str) -> str | None:
    # Excel writes 2026/03/09; pydantic reads the ISO form and explains anything else.
    return value.replace("/", "-") if value else None


def _check_row(line: int, row: dict[str, str], grids: dict[str, int],
               households: dict[str, int]) -> tuple[SubjectCreate | None, list[Problem]]:
    """The enrolment a line asks for, or every problem it has (ours and the schema's)."""
    found: list[Problem] = []
    grid_id = grids.get(row.get("grid", ""))
    if grid_id is None:
        found.append(validation.custom("grid", "unknown_grid", line=line, name=row.get("grid", "")))
    raw_household = row.get("household_id", "")
    parsed_household = _uuid(raw_household) if raw_household else None
    household = str(parsed_household) if parsed_household else raw_household
    if household and grid_id is not None and households.get(household) != grid_id:
        found.append(validation.custom("household_id", "unknown_household", line=line, name=household))
    observation_type = OBSERVATION_TYPES.get(row.get("observation_type", "") or "home")
    if observation_type is None:
        found.append(validation.custom("observation_type", "unknown_observation_type", line=line))
    language = _language(row.get("language", ""))
    if language == "":
        found.append(validation.custom("language", "unknown_language", line=line))
    fields: dict[str, Any] = {
        # Placeholders where our own check already named the problem, so it is not reported twice.
        "grid_id": grid_id or 1, "observation_type": observation_type or "home", "language": language or None,
        "full_name": row.get("full_name", ""), "phone": row.get("phone", ""), "reason": row.get("reason", ""),
        "start_date": _date(row.get("start_date", "")), "duration_days": row.get("duration_days") or None,
        "last_exposure_date": _date(row.get("last_exposure_date", "")),
        "address": row.get("address") or None, "id_number": row.get("id_number") or None,
        "date_of_birth": _date(row.get("date_of_birth", "")),
        # Only a household our own check found in the line's grid (else it is named once, above).
        "household_id": household if household and households.get(household) == grid_id else None,
    }
    try:
        body = SubjectCreate(**fields)
    except ValidationError as error:
        return None, found + validation.problems(error.errors(), line=line)
    return (None if found else body), found


async def _households(session: AsyncSession, named: list[str]) -> dict[str, int]:
    """The households a list names (by id), each with its grid."""
    ids = {parsed for value in named if value and (parsed := _uuid(value)) is not None}
    if not ids:
        return {}
    rows = await session.execute(select(Household.id, Household.grid_id).where(Household.id.in_(sorted(ids))))
    return {str(household_id): grid_id for household_id, grid_id in rows.all()}


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _duplicates_in_list(bodies: list[tuple[int, SubjectCreate]]) -> list[Problem]:
    """A person listed twice (the census of one flat taken twice): each later line names the first."""
    found: list[Problem] = []
    seen: list[tuple[int, Identity]] = []
    for line, body in bodies:
        person = identity(body)
        first = next((earlier for earlier, other in seen if duplicate_of(person, other)), None)
        if first is not None:
            found.append(validation.custom("full_name", "duplicate_in_list", line=line, other=first))
        seen.append((line, person))
    return found


async def _duplicates_enrolled(session: AsyncSession, bodies: list[tuple[int, SubjectCreate]]) -> list[Problem]:
    hits = await find_duplicates(session, [identity(body) for _line, body in bodies])
    return [validation.custom("id_number" if hit[1] == "id_number" else "full_name", f"duplicate_{hit[1]}",
                              line=line)
            for (line, _body), hit in zip(bodies, hits, strict=True) if hit is not None]


async def import_census(
    session: AsyncSession, *, actor: Staff, data: bytes, rules: Rules, now: datetime,
    allow_duplicates: bool = False,
) -> list[tuple[int, Subject, str]]:
    """Enrol everyone on the list in one transaction; returns (line, subject, access code) for each.
    People already under observation (or listed twice) are line errors unless ``allow_duplicates``."""
    rows = read_rows(data)
    grids = (await session.scalars(select(Grid))).all()
    by_name = {g.name: g.id for g in grids} | {str(g.id): g.id for g in grids}
    households = await _households(session, [row.get("household_id", "") for _line, row in rows])
    problems: list[Problem] = []
    bodies: list[tuple[int, SubjectCreate]] = []
    for line, row in rows:
        body, found = _check_row(line, row, by_name, households)
        problems += found
        if body is not None:
            bodies.append((line, body))
    if not allow_duplicates:
        problems += _duplicates_in_list(bodies) + await _duplicates_enrolled(session, bodies)
        problems.sort(key=lambda p: p.line or 0)
    if problems:
        raise InvalidInput("The list was not imported: {count} line(s) need fixing. Nothing was enrolled.",
                           count=len({p.line for p in problems}), problems=problems)
    created = []
    for line, body in bodies:
        body.allow_duplicate = allow_duplicates
        subject, code = await enrol(session, actor=actor, body=body, rules=rules, now=now,
                                    duplicates_checked=not allow_duplicates)
        created.append((line, subject, code))
    audit.record(session, actor, "subjects.census_imported", count=len(created))
    return created
