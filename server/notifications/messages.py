"""Short texts for reminders and staff alerts, per language (SMS and push are read on a lock screen)."""

from __future__ import annotations

REMINDER_TITLE = {
    "zh_Hans": "体温上报提醒",
    "zh_Hant": "體溫上報提醒",
    "en": "Temperature reminder",
}
REMINDER_TEXT = {
    "zh_Hans": "请在 {end} 前测量体温并上报。如有不适请拨打 {hotline}。",
    "zh_Hant": "請在 {end} 前測量體溫並上報。如有不適請撥打 {hotline}。",
    "en": "Please take your temperature and report it before {end}. Feeling unwell? Call {hotline}.",
}
ALERT_KIND = {
    "zh_Hans": {"high_fever": "高热", "fever": "发热", "symptoms": "症状", "missed_twice": "连续两次未上报",
                "callback_request": "请求回电"},
    "en": {"high_fever": "high fever", "fever": "fever", "symptoms": "symptoms",
           "missed_twice": "missed two readings in a row", "callback_request": "asks to be called"},
}
ALERT_TITLE = {"zh_Hans": "居家观察警报", "en": "Home observation alert"}
BATCH_TITLE = {"zh_Hans": "居家观察警报（{n} 条）", "en": "Home observation alerts ({n})"}


def pick(catalogue: dict[str, str], language: str | None) -> str:
    if language in catalogue:
        return catalogue[language]  # type: ignore[index]
    if language and language.startswith("zh"):
        return catalogue.get("zh_Hans", catalogue["en"])
    return catalogue.get(language or "", catalogue.get("zh_Hans", catalogue["en"]))


def alert_line(*, kind: str, subject_name: str, temperature_c: float | None, language: str = "zh_Hans") -> str:
    kinds = ALERT_KIND["en" if language == "en" else "zh_Hans"]
    what = kinds.get(kind, kind)
    temperature = f" {temperature_c:.1f} °C" if temperature_c is not None else ""
    return f"{subject_name}: {what}{temperature}"
