"""Tables for spreadsheets: CSV that Excel opens (UTF-8 with a BOM) and XLSX, written row by row.

Neither holds the table in memory: CSV is encoded a batch of rows at a time as the database cursor
hands them over, and XLSX goes through openpyxl's write-only mode into a temporary file that is then
streamed. The encoding work runs in a worker thread a batch at a time, so a million-row export leaves
the event loop free for everyone else's requests between batches."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import date, datetime
from typing import Any, Literal

from openpyxl import Workbook

Format = Literal["csv", "xlsx"]
Cell = str | int | float | date | datetime | None

MEDIA_TYPES: dict[Format, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# What makes a spreadsheet read a cell as a formula (OWASP "CSV injection"), tab and carriage return
# included: Excel strips them before looking at the next character.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_BYTES = 64 * 1024


def neutralise(value: Cell) -> Cell:
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe, so it shows as
    the text it is (``=HYPERLINK(...)`` typed as a name into a census list, say). Numbers and dates are
    written as such and need nothing."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def csv_lines(rows: Iterable[Sequence[Cell]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_csv_text(neutralise(value)) for value in row])
    return buffer.getvalue().encode("utf-8")


async def csv_stream(header: Sequence[str], batches: AsyncIterator[list[Sequence[Cell]]]) -> AsyncIterator[bytes]:
    """The BOM and the header first (so Excel picks UTF-8 and the download starts at once), then each batch."""
    yield b"\xef\xbb\xbf" + csv_lines([header])
    async for batch in batches:
        yield await asyncio.to_thread(csv_lines, batch)


def _xlsx_row(row: Sequence[Cell]) -> list[Any]:
    # Excel has no time zones: local times are written as they read (callers pass local datetimes).
    return [neutralise(value.replace(tzinfo=None) if isinstance(value, datetime) else value) for value in row]


def _append(sheet: Any, rows: list[Sequence[Cell]]) -> None:
    for row in rows:
        sheet.append(_xlsx_row(row))


async def xlsx_stream(header: Sequence[str], batches: AsyncIterator[list[Sequence[Cell]]], *,
                      title: str) -> AsyncIterator[bytes]:
    """The workbook is built in write-only mode (openpyxl keeps one row at a time, spilling the sheet to
    a temporary file), saved to a temporary file, then sent in chunks and deleted."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.append(list(header))
    async for batch in batches:
        await asyncio.to_thread(_append, sheet, batch)
    handle, path = tempfile.mkstemp(prefix="homewatch-export-", suffix=".xlsx")
    os.close(handle)
    try:
        await asyncio.to_thread(workbook.save, path)
        with open(path, "rb") as file:
            while chunk := await asyncio.to_thread(file.read, CHUNK_BYTES):
                yield chunk
    finally:
        os.unlink(path)


def stream(fmt: Format, header: Sequence[str], batches: AsyncIterator[list[Sequence[Cell]]], *,
           title: str) -> AsyncIterator[bytes]:
    return csv_stream(header, batches) if fmt == "csv" else xlsx_stream(header, batches, title=title)
