import pytest

from monitoring import SYMPTOM_CODES, ReadingRejected, normalise_symptoms


def test_symptoms_are_deduplicated_in_canonical_order() -> None:
    assert normalise_symptoms(["headache", "cough", "headache", "chills"], None) == (
        "chills",
        "cough",
        "headache",
    )


def test_no_symptoms_is_an_empty_tuple() -> None:
    assert normalise_symptoms([], None) == ()


def test_every_known_code_is_accepted() -> None:
    assert normalise_symptoms(reversed(SYMPTOM_CODES), "itchy eyes") == SYMPTOM_CODES


def test_unknown_symptom_is_refused_with_the_code_as_parameter() -> None:
    with pytest.raises(ReadingRejected) as caught:
        normalise_symptoms(["cough", "Cough"], None)
    assert caught.value.code == "unknown_symptom"
    assert caught.value.params == {"symptom": "Cough"}


@pytest.mark.parametrize("note", [None, "", "   \n"])
def test_other_needs_a_non_blank_note(note: str | None) -> None:
    with pytest.raises(ReadingRejected) as caught:
        normalise_symptoms(["other"], note)
    assert caught.value.code == "other_needs_note"


def test_other_with_a_note_is_accepted() -> None:
    assert normalise_symptoms(["other"], "itchy eyes") == ("other",)


def test_a_single_string_is_not_read_letter_by_letter() -> None:
    with pytest.raises(TypeError):
        normalise_symptoms("cough", None)
