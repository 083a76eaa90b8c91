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
# Reminders by SMS when replies are read (HOMEWATCH_SMS_INBOUND_SECRET): they say how to answer.
REMINDER_SMS_TEXT = _("Please take your temperature before {end} and reply to this message with it, for example "
                      "36.8, and any symptoms (咳嗽 cough). Feeling unwell? Call {hotline}.")
SMS_REPLY_TITLE = _("Temperature report")
SMS_SAVED = _("Thank you. {temperature} is saved.")
SMS_SAVED_SYMPTOMS = _("Thank you. {temperature} is saved; your clinic has been told about your symptoms and will "
                       "contact you.")
SMS_SAVED_FEVER = _("{temperature} is a fever. It is saved and your clinic will call you soon. If you have trouble "
                    "breathing or feel very unwell, call 120 now.")
SMS_HELP = _("To report your temperature, reply with the number only, for example 36.8, and any symptoms (咳嗽 "
             "cough, 头痛 headache). Questions: call {hotline}.")
SMS_UNKNOWN = _("This number is not on the list of people under home observation, so nothing was saved. "
                "Questions: call {hotline}.")
SMS_SHARED = _("Several people under observation share this phone number, so we cannot tell who this is. "
               "Please use your personal or household link, or call {hotline}.")
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
