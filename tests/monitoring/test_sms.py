"""Reading an SMS reply: one temperature however it is written, symptom words in three scripts, and
nothing stored for anything else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitoring import SYMPTOM_CODES, Rules
from monitoring.sms import SYMPTOM_WORDS, SmsReport, parse_sms

RULES = Rules()


@pytest.mark.parametrize(("text", "temperature"), [
    ("36.8", 36.8),
    ("36,8", 36.8),  # a decimal comma
    ("３６．８", 36.8),  # full-width digits and point from a Chinese keyboard
    ("３６，８", 36.8),
    ("36。8", 36.8),  # the ideographic full stop
    ("37度5", 37.5),  # the spoken form
    ("36.8℃", 36.8),
    ("36.8度", 36.8),
    ("体温36.5", 36.5),
    ("體溫：36.5°C", 36.5),
    ("Temp 36.6 C ok thanks", 36.6),
    (" 38 ", 38.0),
    ("36.85", 36.9),  # rounded half up, as the rules round every reading
    ("36.8。", 36.8),
])
def test_one_temperature_however_it_is_written(text: str, temperature: float) -> None:
    assert parse_sms(text, RULES) == SmsReport(temperature_c=temperature, symptoms=())


@pytest.mark.parametrize(("text", "symptoms"), [
    ("36.8 咳嗽", ("cough",)),
    ("37.9 cough", ("cough",)),
    ("36.8 头痛 流鼻涕", ("headache", "runny_nose")),
    ("36.8度 頭痛 流鼻涕", ("headache", "runny_nose")),  # traditional characters
    ("36.8 sore throat and tired", ("sore_throat", "fatigue")),
    ("38.1，乏力，呼吸困难", ("shortness_of_breath", "fatigue")),
    ("36.8 Cough, HEADACHE", ("cough", "headache")),
    ("36.8 拉肚子 恶心", ("diarrhea", "nausea")),
    ("36.8 闻不到 发冷 肌肉酸痛", ("chills", "muscle_ache", "loss_of_taste_or_smell")),
])
def test_symptom_words_in_chinese_and_english_become_symptom_codes(text: str, symptoms: tuple[str, ...]) -> None:
    report = parse_sms(text, RULES)
    assert report is not None and report.symptoms == symptoms and report.note is None


@pytest.mark.parametrize("text", ["36.8 无咳嗽", "36.8 没有咳嗽", "36.8 不发冷", "36.8 no cough", "36.8 无症状",
                                  "36.8 没有症状 谢谢", "36.8 no symptoms", "36.8 正常", "36.8 ok"])
def test_negations_and_words_that_say_nothing_add_no_symptom(text: str) -> None:
    assert parse_sms(text, RULES) == SmsReport(temperature_c=36.8, symptoms=())


def test_a_negation_covers_only_the_word_after_it() -> None:
    report = parse_sms("36.8 no cough, headache", RULES)
    assert report is not None and report.symptoms == ("headache",)


@pytest.mark.parametrize("text", ["36.8 胸口痛", "36.8 my eye hurts", "37.0 look"])
def test_words_we_cannot_read_are_kept_for_a_clinician(text: str) -> None:
    report = parse_sms(text, RULES)
    assert report is not None
    assert report.symptoms == ("other",) and report.note == text


@pytest.mark.parametrize("text", [
    "", "hello", "咳嗽", "?",
    "36.8 37.1",  # two temperatures: which one?
    "368",  # no separator: 36.8 or a typo of something else
    "3.68",
    "36.8 第2次",  # a stray digit
    "45.0", "30", "99.1",  # no body has these
    "13800138000",
])
def test_anything_else_is_no_reading(text: str) -> None:
    assert parse_sms(text, RULES) is None


def test_every_symptom_word_maps_to_a_known_code() -> None:
    assert set(SYMPTOM_WORDS) <= set(SYMPTOM_CODES)
    assert set(SYMPTOM_WORDS) == set(SYMPTOM_CODES) - {"other"}


@given(tenths=st.integers(min_value=340, max_value=430),
       style=st.sampled_from(["{w}.{f}", "{w},{f}", "{w}。{f}", "{w}度{f}", " {w}.{f}℃ ", "体温{w}.{f}"]),
       full_width=st.booleans())
def test_any_plausible_temperature_in_any_style_reads_back(tenths: int, style: str, full_width: bool) -> None:
    text = style.format(w=tenths // 10, f=tenths % 10)
    if full_width:
        text = "".join(chr(ord(c) + 0xFEE0) if "0" <= c <= "9" else c for c in text)
    assert parse_sms(text, RULES) == SmsReport(temperature_c=tenths / 10, symptoms=())


@given(st.text(max_size=40))
def test_any_text_either_reads_as_a_plausible_reading_or_as_none(text: str) -> None:
    report = parse_sms(text, RULES)
    if report is not None:
        assert RULES.min_plausible_c <= report.temperature_c <= RULES.max_plausible_c
        assert set(report.symptoms) <= set(SYMPTOM_CODES)
        assert ("other" in report.symptoms) == (report.note is not None)
