"""Checking a self-reported temperature before it is stored."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum

from monitoring.rules import Rules

_ONE_DECIMAL = Decimal("0.1")


class ReadingRejected(ValueError):
    """A reading a person must correct; ``code`` and ``params`` let the server translate ``message``."""

    def __init__(self, code: str, message: str, params: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.params: dict[str, object] = dict(params or {})


def _as_decimal(value: float | int | str | Decimal) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, float):
            # repr gives the shortest text that round-trips, i.e. what the person typed: 37.15 must
            # round to 37.2, whereas the binary float is 37.1499... and would round down.
            return Decimal(repr(value))
        if isinstance(value, str):
            return Decimal(value.strip())
        return Decimal(value)
    except (InvalidOperation, ValueError, TypeError):
        return None


def normalise_temperature(value: float | int | str | Decimal, rules: Rules) -> float:
    """Round to 0.1 °C (half up, as on a thermometer) and refuse what no body can measure."""
    number = _as_decimal(value)
    if number is not None and number.is_finite():
        try:
            rounded = float(number.quantize(_ONE_DECIMAL, rounding=ROUND_HALF_UP))
        except InvalidOperation:  # more digits than the context holds, e.g. "1e30"
            rounded = None
        if rounded is not None and rules.min_plausible_c <= rounded <= rules.max_plausible_c:
            return rounded
    shown = str(value).strip() if isinstance(value, str) else str(value)
    raise ReadingRejected(
        code="implausible_temperature",
        message=(
            f"{shown} is not a plausible body temperature "
            f"({rules.min_plausible_c:.1f}–{rules.max_plausible_c:.1f} °C). Please measure again."
        ),
        params={"value": shown, "min": rules.min_plausible_c, "max": rules.max_plausible_c},
    )


class TemperatureClass(StrEnum):
    normal = "normal"
    fever = "fever"
    high_fever = "high_fever"


def classify(temperature_c: float, rules: Rules) -> TemperatureClass:
    """Classify a temperature already passed through :func:`normalise_temperature`."""
    if temperature_c >= rules.high_fever_c:
        return TemperatureClass.high_fever
    if temperature_c >= rules.fever_c:
        return TemperatureClass.fever
    return TemperatureClass.normal


def require_aware(value: datetime, name: str) -> None:
    """Refuse naive datetimes: a wall-clock time without a zone is off by 8 h or by nothing."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (SQLite returns naive datetimes; attach UTC when loading).")


def check_taken_at(taken_at: datetime, now: datetime, rules: Rules) -> datetime:
    """Return when the reading was taken, in UTC, refusing times without a zone or in the future."""
    require_aware(now, "now")
    if taken_at.tzinfo is None or taken_at.utcoffset() is None:
        raise ReadingRejected(
            code="naive_taken_at",
            message="The time of the reading has no timezone; please send it with one.",
        )
    if taken_at - now > rules.max_future_skew:
        raise ReadingRejected(
            code="future_taken_at",
            message="The time of the reading is in the future; please check the clock on your device.",
            params={"taken_at": taken_at.isoformat(), "now": now.isoformat()},
        )
    return taken_at.astimezone(UTC)
