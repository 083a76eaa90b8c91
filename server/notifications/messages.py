"""Short texts for reminders and staff alerts (SMS and push are read on a lock screen).

The words live in the gettext catalogues like every other text; this module names them and puts them
together in one of our languages."""

from __future__ import annotations

from typing import Any

from server import i18n, labels


def _(message: str) -> str:
    """Marks a msgid for extraction; it is translated where it is used."""
    return message


REMINDER_TITLE = _("Temperature reminder")
REMINDER_TEXT = _("Please take your temperature and report it before {end}. Feeling unwell? Call {hotline}.")
ALERT_TITLE = _("Home observation alert")
BATCH_TITLE = _("Home observation alerts ({n})")
CALL_TITLE = _("Your clinic is calling you")
CALL_TEXT = _("{name}, {unit}, is calling you for a video call. Tap to answer.")
del _


def locale_for(preferred: str | None, default: str = i18n.DEFAULT_LOCALE) -> str:
    """One of our locales: the preferred one if we have it, else the deployment's default."""
    for candidate in (preferred, default):
        locale = i18n.normalise(candidate)
        if locale is not None:
            return locale
    return i18n.DEFAULT_LOCALE


def text(locale: str, message: str, **params: Any) -> str:
    return i18n.Translator(locale_for(locale))(message, **params)


def in_every_language(message: str, **params: Any) -> dict[str, str]:
    """``message`` in each of our locales, for texts composed by SQL for many people at once."""
    return {locale: text(locale, message, **params) for locale in i18n.LOCALES}


def alert_line(*, kind: str, subject_name: str, temperature_c: float | None, language: str) -> str:
    what = labels.alert_kind(i18n.Translator(locale_for(language)), kind)
    temperature = f" {temperature_c:.1f} °C" if temperature_c is not None else ""
    return f"{subject_name}: {what}{temperature}"
