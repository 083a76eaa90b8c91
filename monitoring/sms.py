"""Reading a temperature report sent as an SMS reply: ``36.8``, ``36,8``, ``３６．８``, ``37度5``, with optional
symptom words in Chinese (simplified or traditional) or English (``36.8 咳嗽``, ``37.9 cough``).

What a reply may hold, and how each part is read:

- Exactly one temperature. Full-width digits and punctuation are folded first (NFKC), a decimal comma or
  an ideographic full stop reads as a point, and ``37度5`` is the spoken form of 37.5. A unit (``度``, ``℃``,
  ``°C``) may follow. No number, two numbers (``36.8 37.1``: which one?), or a value no body can have is
  no reading at all: the sender gets the help text, nothing is stored.
- Symptom words, mapped to :data:`monitoring.symptoms.SYMPTOM_CODES`. A word after a negation (``无咳嗽``,
  ``不发冷``, ``no cough``) is not a symptom.
- Words that say nothing (``体温``, ``正常``, ``无症状``, ``谢谢``, ``ok``) are ignored.
- Anything else is kept: the reading gets the symptom ``other`` with the whole message as its note, so a
  clinician reads it. A message the rules cannot read fully errs towards a person looking at it."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from monitoring.rules import Rules
from monitoring.symptoms import SYMPTOM_CODES
from monitoring.temperature import ReadingRejected, normalise_temperature

# Words people write for each symptom (simplified, traditional, English), lower case.
SYMPTOM_WORDS: dict[str, tuple[str, ...]] = {
    "chills": ("畏寒", "发冷", "發冷", "寒战", "寒戰", "怕冷", "chills", "chill", "shivering"),
    "cough": ("咳嗽", "干咳", "乾咳", "咳", "cough", "coughing"),
    "sore_throat": ("咽痛", "喉咙痛", "喉嚨痛", "嗓子痛", "嗓子疼", "喉咙疼", "咽喉痛", "sore throat", "throat"),
    "shortness_of_breath": ("气促", "氣促", "气短", "氣短", "呼吸困难", "呼吸困難", "胸闷", "胸悶", "喘",
                            "shortness of breath", "short of breath", "breathless", "breathing"),
    "fatigue": ("乏力", "疲劳", "疲勞", "疲倦", "累", "没力气", "沒力氣", "fatigue", "tired", "weak"),
    "muscle_ache": ("肌肉痛", "肌肉酸痛", "肌肉痠痛", "全身酸痛", "全身痠痛", "浑身疼", "渾身疼",
                    "muscle ache", "muscle pain", "body ache", "aches"),
    "headache": ("头痛", "頭痛", "头疼", "頭疼", "headache"),
    "diarrhea": ("腹泻", "腹瀉", "拉肚子", "diarrhea", "diarrhoea"),
    "nausea": ("恶心", "噁心", "呕吐", "嘔吐", "想吐", "nausea", "vomiting", "vomit"),
    "runny_nose": ("流鼻涕", "流涕", "鼻塞", "runny nose", "stuffy nose", "blocked nose"),
    "loss_of_taste_or_smell": ("味觉", "味覺", "嗅觉", "嗅覺", "尝不出", "嘗不出", "闻不到", "聞不到",
                               "loss of taste", "loss of smell", "no taste", "no smell", "taste", "smell"),
}
assert set(SYMPTOM_WORDS) <= set(SYMPTOM_CODES)

# Words that carry nothing a clinician needs (units, greetings, "no symptoms").
IGNORED = ("无症状", "無症狀", "没有症状", "沒有症狀", "没症状", "沒症狀", "无不适", "無不適", "一切正常", "正常",
           "体温", "體溫", "温度", "溫度", "今天", "今日", "早上", "上午", "下午", "晚上", "我的", "我",
           "谢谢", "謝謝", "好的", "好", "没有", "沒有", "无", "無", "度", "℃", "°c", "°",
           "no symptoms", "symptoms", "none", "temperature", "temp", "today", "morning", "evening",
           "thanks", "thank you", "fine", "normal", "good", "well", "ok", "okay", "my", "is", "no", "and", "c")
NEGATIONS = ("没有", "沒有", "没", "沒", "无", "無", "不", "no", "not", "without", "non")

NOTE_MAX = 500

_SPOKEN = re.compile(r"(?<![\d.])(\d{2})\s*度\s*(\d)(?![\d.])")  # 37度5
_NUMBER = re.compile(r"(?<![\d.])(\d{2})(?:\s*[.,。]\s*(\d{1,2}))?(?![\d])(?!\s*[.,。]\s*\d)")
_ANY_DIGIT = re.compile(r"\d")
_LEFTOVER = re.compile(r"[^\W\d_]", re.UNICODE)


@dataclass(frozen=True, slots=True)
class SmsReport:
    """A reply read as a reading: its temperature (already checked and rounded by the rules), its symptoms
    in canonical order, and the message itself as a note when part of it was not understood."""

    temperature_c: float
    symptoms: tuple[str, ...]
    note: str | None = None


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _take_temperature(text: str) -> tuple[str, str] | None:
    """(the temperature as written with a point, the text without it), or None unless exactly one."""
    spoken = list(_SPOKEN.finditer(text))
    numbers = list(_NUMBER.finditer(_SPOKEN.sub(" ", text)))
    if len(spoken) + len(numbers) != 1:
        return None
    if spoken:
        match = spoken[0]
        rest = text[:match.start()] + " " + text[match.end():]
    else:
        match = numbers[0]
        rest = _SPOKEN.sub(" ", text)
        rest = rest[:match.start()] + " " + rest[match.end():]
    whole, fraction = match.group(1), match.group(2)
    if _ANY_DIGIT.search(rest):
        return None  # a stray digit ("36.8 2", "36.8度 第2次"): not sure which number is meant
    return (f"{whole}.{fraction}" if fraction else whole), rest


def _phrases() -> list[tuple[str, str | None]]:
    """Every phrase we know, longest first so "no symptoms" wins over "no" and "symptoms"."""
    known: list[tuple[str, str | None]] = [(w, code) for code, words in SYMPTOM_WORDS.items() for w in words]
    known += [(w, None) for w in IGNORED]
    return sorted(known, key=lambda item: -len(item[0]))


_PHRASES = _phrases()


def _is_latin(phrase: str) -> bool:
    return phrase.isascii() and phrase[:1].isalpha()


def _find(text: str, phrase: str, start: int) -> int:
    """Where ``phrase`` next occurs from ``start``; Latin words only as whole words ("ok" not in "look")."""
    while True:
        at = text.find(phrase, start)
        if at < 0 or not _is_latin(phrase):
            return at
        before = text[at - 1] if at > 0 else " "
        after = text[at + len(phrase)] if at + len(phrase) < len(text) else " "
        if not before.isalnum() and not after.isalnum():
            return at
        start = at + 1


def _negated(text: str, at: int) -> int | None:
    """Where a negation right before position ``at`` starts, if there is one."""
    head = text[:at].rstrip()
    for word in NEGATIONS:
        if head.endswith(word) and (not _is_latin(word) or len(head) == len(word)
                                    or not head[-len(word) - 1].isalnum()):
            return len(head) - len(word)
    return None


def _take_words(text: str) -> tuple[set[str], str]:
    """The symptoms named in ``text`` (negated ones left out), and what is left of it."""
    found: set[str] = set()
    for phrase, code in _PHRASES:
        at = _find(text, phrase, 0)
        while at >= 0:
            end = at + len(phrase)
            negation = _negated(text, at) if code is not None else None
            if code is not None and negation is None:
                found.add(code)
            cut_from = negation if negation is not None else at
            text = text[:cut_from] + " " + text[end:]
            at = _find(text, phrase, cut_from + 1)
    return found, text


def parse_sms(text: str, rules: Rules) -> SmsReport | None:
    """The reading an SMS reply reports, or None when it is not one (the sender then gets the help text)."""
    folded = _fold(text)
    taken = _take_temperature(folded)
    if taken is None:
        return None
    value, rest = taken
    try:
        temperature = normalise_temperature(Decimal(value), rules)
    except ReadingRejected:
        return None
    symptoms, leftover = _take_words(rest)
    note = None
    if _LEFTOVER.search(leftover):
        symptoms.add("other")
        note = " ".join(text.split())[:NOTE_MAX]
    return SmsReport(temperature_c=temperature, symptoms=tuple(c for c in SYMPTOM_CODES if c in symptoms), note=note)
