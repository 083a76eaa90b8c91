"""Languages: catalogues, negotiation, and translated error messages.

The catalogues are the ``.po`` files under ``web/translations``; they are compiled in memory when first
used, so a fresh clone (or an edited ``.po``) needs no build step and no binary files in the repository.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.core import Locale, UnknownLocaleError, negotiate_locale, parse_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = ("zh_Hans", "zh_Hant", "en")
DEFAULT_LOCALE = "zh_Hans"
# What each language calls itself, for the switcher.
LOCALE_NAMES = {"zh_Hans": "简体中文", "zh_Hant": "繁體中文", "en": "English"}
# BCP 47 tags for <html lang>, so screen readers pick the right voice.
HTML_LANG = {"zh_Hans": "zh-Hans", "zh_Hant": "zh-Hant", "en": "en"}
# Babel's locales for dates, numbers and lists (CLDR needs a region to pick the script's conventions).
BABEL_LOCALE = {"zh_Hans": "zh_Hans_CN", "zh_Hant": "zh_Hant_TW", "en": "en"}
TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "web" / "translations"


@lru_cache(maxsize=len(LOCALES))
def translations(locale: str) -> NullTranslations:
    if locale not in LOCALES or locale == "en":
        return NullTranslations()  # msgids are English
    po = TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po"
    mo = po.with_suffix(".mo")
    if not po.exists():
        return NullTranslations()
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as fh:
            return Translations(fh)
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=locale.replace("_Hans", "").replace("_Hant", "_TW"))
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def _babel_identifier(tag: str) -> str | None:
    """``zh-TW`` → ``zh_Hant``, ``zh-CN`` → ``zh_Hans``, ``en-GB`` → ``en_GB``; None if not a language tag.

    Babel reads the tag; a Chinese tag without a script gets the script Babel's likely-subtags data
    gives its region (TW, HK, MO: Traditional), and plain ``zh`` is Simplified."""
    try:
        language, territory, script = parse_locale(tag.strip().replace("_", "-"), sep="-")[:3]
    except ValueError:
        return None
    if language == "zh" and script is None:
        try:
            script = Locale.parse(f"zh_{territory}").script if territory else None
        except (ValueError, UnknownLocaleError):
            script = None
        script = script or "Hans"
    parts = [language, script] if script else [language, territory]
    return "_".join(p for p in parts if p)


def normalise(tag: str | None) -> str | None:
    """One of :data:`LOCALES` for a language tag (``zh-CN``, ``zh-TW``, ``zh_Hant``, ``en-GB``), or None."""
    identifier = _babel_identifier(tag) if tag else None
    return negotiate_locale([identifier], LOCALES) if identifier else None


def _by_quality(header: str) -> list[str]:
    """The tags of an ``Accept-Language`` header, most wanted first (q=0 means "not this one")."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")):
        tag, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and tag != "*" and quality > 0:  # NaN fails this test too
            ranked.append((-quality, position, tag))
    return [tag for _quality, _position, tag in sorted(ranked)]


def from_accept_language(header: str | None) -> str | None:
    """The best of our languages for an ``Accept-Language`` header, by Babel's negotiation."""
    if not header:
        return None
    identifiers = [i for i in map(_babel_identifier, _by_quality(header)) if i]
    return negotiate_locale(identifiers, LOCALES) if identifiers else None


def negotiate(*, chosen: str | None = None, saved: str | None = None, accept_language: str | None = None) -> str:
    """A choice made on the switcher wins, then the person's saved language, then the browser's."""
    for candidate in (chosen, saved):
        if candidate in LOCALES:
            return candidate
    return from_accept_language(accept_language) or DEFAULT_LOCALE


def gettext(locale: str, message: str, params: Mapping[str, Any] | None = None) -> str:
    """Translate ``message`` (an English msgid) and fill ``{name}`` placeholders from ``params``."""
    text = translations(locale).gettext(message)
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            # A broken translation must not hide the message: fall back to the English template.
            return message.format(**params)
    return text


class Translator:
    """``_("Day {n}", n=3)``: gettext in one locale, then ``str.format`` with the keyword arguments."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self._translations = translations(locale)

    def __call__(self, message: str, **params: Any) -> str:
        text = self._translations.gettext(message)
        return text.format(**params) if params else text

    def ngettext(self, singular: str, plural: str, n: int, **params: Any) -> str:
        return self._translations.ngettext(singular, plural, n).format(n=n, **params)


# Reading rejections carry a code; their English text is built by the rules with the value in it,
# so the catalogue is keyed by these templates instead.
def _(message: str) -> str:
    return message


REJECTIONS = {
    "implausible_temperature": _("{value} is not a plausible body temperature ({min}–{max} °C). "
                                 "Please measure again."),
    "unknown_symptom": _("“{symptom}” is not a symptom this form knows."),
    "other_needs_note": _("Please describe the other symptom in the note."),
    "future_taken_at": _("The time of the reading is in the future; please check the clock on your device."),
    "naive_taken_at": _("The time of the reading has no timezone; please send it with one."),
}
del _


def rejection_message(locale: str, code: str, params: Mapping[str, Any] | None, fallback: str) -> str:
    template = REJECTIONS.get(code)
    if template is None or locale == "en":
        return fallback
    values = dict(params or {})
    for key in ("min", "max"):
        if key in values:
            try:
                values[key] = f"{float(values[key]):.1f}"
            except (TypeError, ValueError):
                pass
    try:
        return gettext(locale, template, values)
    except (KeyError, IndexError, ValueError):
        return fallback


def error_detail(locale: str, message: str, params: Mapping[str, Any], extra: Mapping[str, Any],
                 fallback: str) -> str:
    """The ``detail`` of an error in ``locale``; English when the catalogue has no entry."""
    code = extra.get("code")
    if isinstance(code, str) and code in REJECTIONS:
        return rejection_message(locale, code, extra.get("params"), fallback)
    if locale == "en":
        return fallback
    translated = translations(locale).gettext(message)
    if translated == message:
        return fallback
    try:
        return translated.format(**params) if params else translated
    except (KeyError, IndexError, ValueError):
        return fallback
