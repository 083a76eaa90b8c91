"""Phone numbers as people write them, stored in one form (E.164, e.g. ``+8613812345678``).

Parsing and validity come from ``phonenumbers`` (Google's libphonenumber metadata, kept up to date with
every numbering plan): hand-written rules for area codes and mobile ranges go stale and miss other
countries. Our own part is small and deliberate:

- A number without ``+`` (or the ``00`` international prefix) is read as mainland Chinese, the way a
  clinic in the mainland writes it: ``138 1234 5678``, ``0086-138…``, ``010-1234 5678``.
- A number of another country is accepted only when it says so with ``+`` (or ``00``): a bare foreign
  number would otherwise be taken for a broken Chinese one.
- A mainland mobile is 11 digits starting 1[3-9]. The library knows the ranges actually allocated and
  can lag behind a brand-new one; a well-formed mobile is not refused for that.
"""

from __future__ import annotations

import re

import phonenumbers

HOME_REGION = "CN"
_MAINLAND_MOBILE = re.compile(r"1[3-9]\d{9}")
# Separators people type or copy from business cards; anything else (letters, #, *) is refused.
_SEPARATORS = re.compile(r"[\s\-().\u00a0\u3000·（）－]")


class NotAPhoneNumber(ValueError):
    pass


def normalise(raw: str) -> str:
    """``raw`` as E.164, or :class:`NotAPhoneNumber`."""
    compact = _SEPARATORS.sub("", raw.strip()).replace("＋", "+")
    if not re.fullmatch(r"\+?\d{3,20}", compact):
        raise NotAPhoneNumber(raw)
    # Most numbers are mainland mobiles: the library's parse would give exactly this (country 86, the 11
    # digits as the national number) at a hundred times the cost, which a 100,000-line census feels.
    mobile = compact[3:] if compact.startswith("+86") else compact
    if _MAINLAND_MOBILE.fullmatch(mobile):
        return f"+86{mobile}"
    try:
        number = phonenumbers.parse(compact, HOME_REGION)
    except phonenumbers.NumberParseException as exc:
        raise NotAPhoneNumber(raw) from exc
    national = str(number.national_number)
    if number.country_code == 86 and _MAINLAND_MOBILE.fullmatch(national):
        return f"+86{national}"
    if not phonenumbers.is_valid_number(number):
        raise NotAPhoneNumber(raw)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display(stored: str) -> str:
    """A stored number the way its readers write it: national form at home (``138 1234 5678``),
    international abroad (``+1 650-253-0000``). Rows stored before numbers were normalised are shown
    as they are."""
    try:
        number = phonenumbers.parse(stored, HOME_REGION)
    except phonenumbers.NumberParseException:
        return stored
    if not stored.startswith("+") or not phonenumbers.is_possible_number(number):
        return stored
    if number.country_code == 86:
        national = str(number.national_number)
        if _MAINLAND_MOBILE.fullmatch(national):
            return f"{national[:3]} {national[3:7]} {national[7:]}"
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
