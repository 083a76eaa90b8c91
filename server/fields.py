"""Bounds on input, as reusable pydantic types: every schema, path, query and form field uses these.

Why each bound exists: PostgreSQL refuses to store or compare text holding NUL, and its ``integer``
columns end at 2^31 - 1, so a larger id or offset reaches the database as an error (a 500) instead of
a "not found". Control characters have no business in names, notes or search terms either: they hide
text from readers and break CSV exports. Multi-line fields keep line breaks and tabs.

The types carry their bounds as ``annotated_types`` metadata, so one alias works as a body field, a
path parameter and a query parameter alike, and the OpenAPI schema states each bound."""

from __future__ import annotations

import re
from typing import Annotated

from annotated_types import Ge, Le
from pydantic import StringConstraints

from server.errors import Invalid

# The largest value of a 32-bit signed integer column (PostgreSQL ``integer``, our grid and user ids).
MAX_DB_ID = 2**31 - 1
MAX_OFFSET = 1_000_000
MAX_LIMIT = 500

# C0 controls and DEL, and the C1 controls (U+0080-U+009F): never typed by people.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# The same without tab, line feed and carriage return (browsers send a textarea's line breaks as CRLF).
_CONTROL_IN_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def has_control_characters(value: str, *, multiline: bool = False) -> bool:
    return (_CONTROL_IN_LINES if multiline else _CONTROL).search(value) is not None


# As patterns (not validators) so that a field's own length bounds stay plain string bounds with their own
# messages; a breach reads "has characters that are not allowed here" (string_pattern_mismatch).
# Text on one line (names, search terms, codes): no control characters at all.
Text = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f-\x9f]*$")]
# Text that may span lines (notes, SDP): line feeds, carriage returns and tabs are allowed.
MultilineText = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$")]

# An integer primary key (grids, staff accounts): 1 to 2^31 - 1, so a larger one is a 422, never a 500.
DbId = Annotated[int, Ge(1), Le(MAX_DB_ID)]
# A count of rows to skip; a million is past any list a person pages through.
Offset = Annotated[int, Ge(0), Le(MAX_OFFSET)]
# A count of rows to answer.
Limit = Annotated[int, Ge(1), Le(MAX_LIMIT)]
# A small index (a snapshot's number within its check-in).
SmallIndex = Annotated[int, Ge(0), Le(10_000)]


def page_number(value: str | None, *, page_size: int) -> int:
    """A page number from a page's query string: 1 when missing or not a number, and never so large that
    its offset passes :data:`MAX_OFFSET`."""
    try:
        number = int(value) if value else 1
    except ValueError:
        number = 1
    return max(1, min(number, MAX_OFFSET // page_size + 1))


def db_id(value: str | int | None) -> int | None:
    """An id from a page's query string or form, or None when it is not one a database row can have."""
    try:
        number = int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
    return number if number is not None and 1 <= number <= MAX_DB_ID else None


def visible(value: str) -> str:
    """``value`` with each control character replaced by U+FFFD: for text that is only compared or
    recorded (a username tried at sign-in), where refusing it would tell a guesser something."""
    return _CONTROL.sub("\ufffd", value)


def checked_text(value: str, *, multiline: bool = False) -> str:
    """``value`` unchanged, or :class:`Invalid` when it holds control characters (for form fields the
    pages read without a schema)."""
    if has_control_characters(value, multiline=multiline):
        raise Invalid("The text has characters that are not allowed here. Please type it again.")
    return value
