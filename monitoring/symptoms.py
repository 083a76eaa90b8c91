"""The symptoms a person may declare with a reading."""

from __future__ import annotations

from collections.abc import Iterable

from monitoring.temperature import ReadingRejected

SYMPTOM_CODES: tuple[str, ...] = (
    "chills",
    "cough",
    "sore_throat",
    "shortness_of_breath",
    "fatigue",
    "muscle_ache",
    "headache",
    "diarrhea",
    "nausea",
    "runny_nose",
    "loss_of_taste_or_smell",
    "other",
)


def normalise_symptoms(codes: Iterable[str], note: str | None) -> tuple[str, ...]:
    """Return the declared symptoms deduplicated, in the canonical order of :data:`SYMPTOM_CODES`."""
    if isinstance(codes, str):
        # A bare string is iterable too, and would be read letter by letter.
        raise TypeError("codes must be a collection of symptom codes, not a single string")
    given = set()
    for code in codes:
        if code not in SYMPTOM_CODES:
            raise ReadingRejected(
                code="unknown_symptom",
                message=f"{code!r} is not a symptom this form knows.",
                params={"symptom": code},
            )
        given.add(code)
    if "other" in given and not (note or "").strip():
        raise ReadingRejected(
            code="other_needs_note",
            message="Please describe the other symptom in the note.",
        )
    return tuple(code for code in SYMPTOM_CODES if code in given)
