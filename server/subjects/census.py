"""Enrolment from a census list: a CSV file as grid workers keep it (Excel's UTF-8 or GB18030 export) or
an XLSX workbook, validated as a whole — one bad line and nothing is written, with every problem named by
line. Lists of up to ``HOMEWATCH_CENSUS_SYNC_ROWS`` (5,000) people are enrolled within the request (their
cards print at once); longer ones, up to :data:`MAX_ROWS`, as a background job (:mod:`server.subjects.census_jobs`),
checked by the same functions here."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
import zipfile
from collections.abc import Awaitable, Callable, Iterator
from datetime import date, datetime
from typing import Any

from openpyxl import load_workbook
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from monitoring import Rules, local_date
from monitoring.course import enrolment_end, normalised_name
from server import i18n, labels, validation
from server.audit import service as audit
from server.auth.principal import Staff
from server.errors import Invalid
from server.models import Grid, Subject
from server.models.households import Household
from server.subjects.schemas import SubjectCreate
from server.subjects.service import enrol, find_duplicates, identity
from server.validation import InvalidInput, Problem

MAX_ROWS = 200_000
# Lines checked per step in a worker thread (the event loop serves other requests between steps), and
# people looked up at once among those already under observation.
CHECK_BATCH = 2_000
DUPLICATE_BATCH = 1_000

Progress = Callable[[int], Awaitable[None]]

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


def is_xlsx(data: bytes) -> bool:
    """An XLSX workbook is a ZIP archive; a CSV file never starts like one."""
    return data[:4] == b"PK\x03\x04"


def _cell(value: Any) -> str:
    """A spreadsheet cell as the text a CSV export of it would hold: dates in ISO form, whole numbers
    (phone numbers typed as numbers) without a decimal point."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _xlsx_lines(data: bytes) -> Iterator[list[str]]:
    try:
        # Read-only mode streams the sheet's XML instead of building every cell as an object.
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise Invalid("The file is not an XLSX workbook that can be read. Please save the list as XLSX or CSV.") \
            from error
    try:
        for values in workbook.worksheets[0].iter_rows(values_only=True):
            yield [_cell(v) for v in values]
    finally:
        workbook.close()


def _csv_lines(data: bytes) -> Iterator[list[str]]:
    reader = csv.reader(io.StringIO(_decode(data)))
    try:
        yield from reader
    except csv.Error as error:
        # A field past the csv module's size limit (128 KiB) ends the reading there: name the line.
        raise InvalidInput("The list was not imported: {count} line(s) need fixing. Nothing was enrolled.",
                           count=1, problems=[validation.custom("", "unreadable_line", line=reader.line_num)]) \
            from error


def read_rows(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """(line number, {our column: value}) for each non-empty line after the header, from CSV or XLSX
    (the first sheet; its row numbers are the line numbers)."""
    lines = _xlsx_lines(data) if is_xlsx(data) else _csv_lines(data)
    header = next(lines, None)
    if not header or not any(h.strip() for h in header):
        raise Invalid("The file is empty. The first line must name the columns, e.g. 姓名,手机号,网格,原因.")
    names = _header_names()
    columns = [names.get(h.strip().lower()) for h in header]
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise InvalidInput("The list is missing columns it needs. Nothing was enrolled.",
                           problems=[validation.custom(c, "missing_column") for c in missing])
    rows = []
    for line, values in enumerate(lines, start=2):
        if not any(v.strip() for v in values):
            continue
        rows.append((line, {c: v.strip() for c, v in zip(columns, values, strict=False) if c}))
        if len(rows) > MAX_ROWS:
            raise Invalid("A list may have at most {max} people; please split it.", max=MAX_ROWS)
    if not rows:
        raise Invalid("The list has a header but no people.")
    return rows


def _date(value: str) -> str | None:
    # Excel writes 2026/03/09; pydantic reads the ISO form and explains anything else.
    return value.replace("/", "-") if value else None


def _check_row(line: int, row: dict[str, str], grids: dict[str, int], households: dict[str, int],
               today: date, rules: Rules) -> tuple[SubjectCreate | None, list[Problem]]:
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
    found += _period_problems(line, body, today, rules)
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


def _period_problems(line: int, body: SubjectCreate, today: date, rules: Rules) -> list[Problem]:
    """What enrolment itself would refuse about the dates (see ``subjects.service.enrol``), as line
    problems, so a long list is refused before anyone is written."""
    if body.last_exposure_date is not None and body.last_exposure_date > today:
        return [validation.custom("last_exposure_date", "exposure_in_future", line=line)]
    start = body.start_date or today
    end = enrolment_end(start, body.duration_days or rules.observation_days, body.last_exposure_date, rules)
    if (end - start).days < 1:
        return [validation.custom("last_exposure_date", "observation_already_over", line=line)]
    return []


def _check_batch(rows: list[tuple[int, dict[str, str]]], grids: dict[str, int], households: dict[str, int],
                 today: date, rules: Rules) -> tuple[list[tuple[int, SubjectCreate]], list[Problem]]:
    bodies: list[tuple[int, SubjectCreate]] = []
    problems: list[Problem] = []
    for line, row in rows:
        body, found = _check_row(line, row, grids, households, today, rules)
        problems += found
        if body is not None:
            bodies.append((line, body))
    return bodies, problems


def _duplicates_in_list(bodies: list[tuple[int, SubjectCreate]]) -> list[Problem]:
    """A person listed twice (the census of one flat taken twice): each later line names the first.
    The rule is :func:`monitoring.course.duplicate_of` (the same ID number, or the same name and phone),
    looked up in two indexes instead of comparing every pair: 200,000 lines are 2·10¹⁰ pairs."""
    found: list[Problem] = []
    by_id_number: dict[str, int] = {}
    by_name_and_phone: dict[tuple[str, str], int] = {}
    for line, body in bodies:
        person = identity(body)
        key = (person.phone, normalised_name(person.full_name))
        earlier = [first for first in (by_id_number.get(person.id_number or ""), by_name_and_phone.get(key))
                   if first is not None]
        if earlier:
            found.append(validation.custom("full_name", "duplicate_in_list", line=line, other=min(earlier)))
        if person.id_number:
            by_id_number.setdefault(person.id_number, line)
        by_name_and_phone.setdefault(key, line)
    return found


async def _duplicates_enrolled(session: AsyncSession, bodies: list[tuple[int, SubjectCreate]]) -> list[Problem]:
    hits = await find_duplicates(session, [identity(body) for _line, body in bodies])
    return [validation.custom("id_number" if hit[1] == "id_number" else "full_name", f"duplicate_{hit[1]}",
                              line=line)
            for (line, _body), hit in zip(bodies, hits, strict=True) if hit is not None]


async def check_rows(session: AsyncSession, rows: list[tuple[int, dict[str, str]]], *, rules: Rules,
                     now: datetime, allow_duplicates: bool = False, progress: Progress | None = None,
                     ) -> tuple[list[tuple[int, SubjectCreate]], list[Problem]]:
    """Every line checked as enrolment would check it, and (unless ``allow_duplicates``) against the rest
    of the list and the people already under observation: the enrolments the lines ask for, and every
    problem by line. The checks run in a worker thread a batch at a time; ``progress`` hears how many
    lines are done after each batch."""
    grids = (await session.scalars(select(Grid))).all()
    by_name = {g.name: g.id for g in grids} | {str(g.id): g.id for g in grids}
    households = await _households(session, [row.get("household_id", "") for _line, row in rows])
    today = local_date(now, rules)
    bodies: list[tuple[int, SubjectCreate]] = []
    problems: list[Problem] = []
    for start in range(0, len(rows), CHECK_BATCH):
        batch_bodies, batch_problems = await asyncio.to_thread(_check_batch, rows[start:start + CHECK_BATCH],
                                                               by_name, households, today, rules)
        bodies += batch_bodies
        problems += batch_problems
        if progress is not None:
            await progress(min(len(rows), start + CHECK_BATCH))
    if not allow_duplicates:
        problems += _duplicates_in_list(bodies)
        for start in range(0, len(bodies), DUPLICATE_BATCH):
            problems += await _duplicates_enrolled(session, bodies[start:start + DUPLICATE_BATCH])
        problems.sort(key=lambda p: p.line or 0)
    return bodies, problems


def refused(problems: list[Problem]) -> InvalidInput:
    return InvalidInput("The list was not imported: {count} line(s) need fixing. Nothing was enrolled.",
                        count=len({p.line for p in problems}), problems=problems)


async def import_census(
    session: AsyncSession, *, actor: Staff, rows: list[tuple[int, dict[str, str]]], rules: Rules, now: datetime,
    allow_duplicates: bool = False, dry_run: bool = False,
) -> list[tuple[int, Subject, str]]:
    """Enrol everyone on the list in one transaction; returns (line, subject, access code) for each
    (nothing with ``dry_run``, which only checks). People already under observation (or listed twice)
    are line errors unless ``allow_duplicates``."""
    bodies, problems = await check_rows(session, rows, rules=rules, now=now, allow_duplicates=allow_duplicates)
    if problems:
        raise refused(problems)
    if dry_run:
        return []
    created = []
    for line, body in bodies:
        body.allow_duplicate = allow_duplicates
        subject, code = await enrol(session, actor=actor, body=body, rules=rules, now=now,
                                    duplicates_checked=not allow_duplicates)
        created.append((line, subject, code))
    audit.record(session, actor, "subjects.census_imported", count=len(created))
    return created
