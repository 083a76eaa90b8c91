"""Input that breaks the rules, in people's words: pydantic's error types mapped to catalogue texts.

This is the one place that turns a validation error into sentences. The API keeps the machine
contract (each problem's ``field``, ``code`` — pydantic's error type or one of ours — and ``params``)
and adds ``detail`` in the caller's language; pages show the same sentences with the field's label.
Pydantic's own English messages never reach a reader of another language."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from babel.lists import format_list
from pydantic_core import ErrorDetails

from server import labels
from server.errors import Invalid
from server.i18n import BABEL_LOCALE, Translator


def _(message: str) -> str:
    """Marks a msgid for extraction; it is translated when a problem is described."""
    return message


# Error type → English template (the catalogue's msgid); ``{name}`` fields come from pydantic's ctx.
MESSAGES: dict[str, str] = {
    "missing": _("is required"),
    "blank": _("must not be blank"),
    "string_too_short": _("needs at least {min_length} characters"),
    "string_too_long": _("may have at most {max_length} characters"),
    "string_pattern_mismatch": _("has characters that are not allowed here"),
    "string_type": _("must be text"),
    "int_parsing": _("must be a whole number"),
    "int_type": _("must be a whole number"),
    "int_from_float": _("must be a whole number"),
    "float_parsing": _("must be a number"),
    "float_type": _("must be a number"),
    "bool_parsing": _("must be yes or no"),
    "bool_type": _("must be yes or no"),
    "greater_than_equal": _("must be at least {ge}"),
    "less_than_equal": _("must be at most {le}"),
    "greater_than": _("must be more than {gt}"),
    "less_than": _("must be less than {lt}"),
    "literal_error": _("must be one of: {expected}"),
    "enum": _("must be one of: {expected}"),
    "date_parsing": _("must be a date such as 2026-03-09"),
    "date_type": _("must be a date such as 2026-03-09"),
    "date_from_datetime_parsing": _("must be a date such as 2026-03-09"),
    "date_from_datetime_inexact": _("must be a date such as 2026-03-09"),
    "datetime_parsing": _("must be a date and time such as 2026-03-09T08:30:00+08:00"),
    "datetime_type": _("must be a date and time such as 2026-03-09T08:30:00+08:00"),
    "datetime_from_date_parsing": _("must be a date and time such as 2026-03-09T08:30:00+08:00"),
    "timezone_aware": _("must be a date and time such as 2026-03-09T08:30:00+08:00"),
    "uuid_parsing": _("is not a valid id"),
    "uuid_type": _("is not a valid id"),
    "too_short": _("needs at least {min_length} items"),
    "too_long": _("may have at most {max_length} items"),
    "list_type": _("must be a list"),
    "dict_type": _("must be an object"),
    "model_type": _("must be an object"),
    "model_attributes_type": _("must be an object"),
    "json_invalid": _("is not valid JSON"),
    "json_type": _("is not valid JSON"),
    "extra_forbidden": _("is not expected here"),
    # Our own rules (PydanticCustomError types raised by the schemas and the census import).
    "phone": _("write a mobile (11 digits, e.g. 138 1234 5678), a landline with its area code (010 1234 5678), "
               "or a number abroad starting with +"),
    "id_number": _("an ID number has only letters and digits"),
    "unknown_grid": _("there is no grid named “{name}”"),
    "unknown_household": _("there is no household “{name}” in this grid"),
    "unknown_observation_type": _("write 居家 (at home) or 集中 (centralised site)"),
    "unknown_language": _("write 简体中文, 繁體中文 or English"),
    "missing_column": _("the list has no such column"),
    "unreadable_line": _("this line cannot be read: a field is far too long, or a quote is never closed"),
    "duplicate_id_number": _("someone with this ID number is already under observation"),
    "duplicate_name_and_phone": _("someone with this name and phone number is already under observation"),
    "duplicate_in_list": _("the same person as on line {other}"),
    "exposure_in_future": _("the last exposure date cannot be in the future"),
    "observation_already_over": _("counted from the last exposure the observation would already be over"),
}
# "at least 1 character(s)" reads badly in English and says less than this does.
NOT_EMPTY = _("must not be empty")
FALLBACK = _("is not valid")
FIELD_PROBLEM = _("{field}: {problem}")
SEPARATOR = _("; ")
REQUEST_INVALID = _("The request is not valid.")
del _

_LOCATION_PREFIXES = ("body", "query", "path", "header", "cookie")


@dataclasses.dataclass(frozen=True, slots=True)
class Problem:
    """One field that breaks one rule. ``message`` is the English template, ``params`` fill it."""

    field: str
    code: str
    message: str
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    line: int | None = None
    english: str | None = None  # pydantic's own words, for types this table does not know

    def text(self, locale: str) -> str:
        """The rule that was broken, in ``locale`` (without the field)."""
        if self.message == FALLBACK and locale == "en" and self.english:
            return self.english
        _ = Translator(locale)
        params = dict(self.params)
        if self.code in ("literal_error", "enum") and isinstance(params.get("expected"), str):
            # pydantic writes "'home' or 'centralized'"; the values stay, the "or" follows the reader.
            values = re.findall(r"'[^']*'", params["expected"]) or [params["expected"]]
            params["expected"] = format_list(values, style="or", locale=BABEL_LOCALE.get(locale, locale))
        try:
            return _(self.message, **params)
        except (KeyError, IndexError, ValueError):
            return _(FALLBACK)

    def describe(self, locale: str, *, label: bool = True) -> str:
        """``"姓名：不能为空"``: the field (its label, or with ``label=False`` its name) and the rule."""
        _ = Translator(locale)
        if not self.field:
            return self.text(locale)
        name = self.field
        if label:
            top, _dot, rest = self.field.partition(".")
            name = labels.field(_, top) + (f" {rest}" if rest else "")
        return _(FIELD_PROBLEM, field=name, problem=self.text(locale))

    def as_json(self, locale: str) -> dict[str, Any]:
        body: dict[str, Any] = {"field": self.field, "code": self.code, "params": dict(self.params),
                                "detail": self.describe(locale, label=api_labels(locale))}
        return body if self.line is None else {"line": self.line, **body}


def api_labels(locale: str) -> bool:
    """The API names a field as its JSON key in English (what a developer reads, as before) and by
    its label in Chinese (what a person reads in a client's screen)."""
    return locale != "en"


def _plain(value: Any) -> Any:
    # pydantic's ctx may hold exceptions or patterns; the API's params must be JSON.
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def problem(error: ErrorDetails | Mapping[str, Any], *, line: int | None = None) -> Problem:
    location = [str(part) for part in error.get("loc", ())]
    if location and location[0] in _LOCATION_PREFIXES:
        location = location[1:]
    code = str(error.get("type", ""))
    if code == "json_invalid":
        location = []  # its location is a character offset, not a field
    params = {key: _plain(value) for key, value in (error.get("ctx") or {}).items()}
    message = MESSAGES.get(code, FALLBACK)
    if code in ("string_too_short", "too_short") and params.get("min_length") == 1:
        message = NOT_EMPTY
    english = str(error.get("msg", "")).removeprefix("Value error, ") or None
    return Problem(".".join(location), code, message, params, line, english)


def problems(errors: Iterable[ErrorDetails | Mapping[str, Any]], *, line: int | None = None) -> list[Problem]:
    return [problem(e, line=line) for e in errors]


def custom(field: str, code: str, *, line: int | None = None, **params: Any) -> Problem:
    """A problem found by our own checks (not pydantic's), with a code from :data:`MESSAGES`."""
    return Problem(field, code, MESSAGES[code], params, line)


def join(locale: str, found: Sequence[Problem]) -> str:
    """Every problem in one sentence, for the API's ``detail``."""
    _ = Translator(locale)
    return _(SEPARATOR).join(p.describe(locale, label=api_labels(locale)) for p in found) or _(REQUEST_INVALID)


class InvalidInput(Invalid):
    """Input breaking field rules; the error handler adds each problem, in the reader's language."""

    def __init__(self, message: str, *, problems: Sequence[Problem], **params: Any) -> None:
        super().__init__(message, **params)
        self.problems = list(problems)

    def details(self, locale: str) -> list[dict[str, Any]]:
        return [p.as_json(locale) for p in self.problems]
