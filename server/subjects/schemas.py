from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field
from pydantic_core import PydanticCustomError

from server.fields import DbId, MultilineText, Text
from server.subjects import phones

# The English template of the "phone" error; server/validation.py holds its translations.
PHONE_RULE = ("write a mobile (11 digits, e.g. 138 1234 5678), a landline with its area code (010 1234 5678), "
              "or a number abroad starting with +")

Language = Literal["zh_Hans", "zh_Hant", "en"]
SubjectState = Literal["active", "released", "closed"]


def not_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise PydanticCustomError("blank", "must not be blank")
    return value


def _phone(value: str) -> str:
    try:
        return phones.normalise(value)
    except phones.NotAPhoneNumber:
        raise PydanticCustomError("phone", PHONE_RULE) from None


def _id_number(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip().upper()
    if not value.isalnum():
        raise PydanticCustomError("id_number", "an ID number has only letters and digits")
    return value


# Our own rules raise PydanticCustomError with a type that server/validation.py turns into words.
Name = Annotated[Text, Field(min_length=1, max_length=100), AfterValidator(not_blank)]
Phone = Annotated[Text, Field(min_length=1, max_length=32), AfterValidator(_phone)]
IdNumber = Annotated[Text, Field(max_length=32), AfterValidator(_id_number)]
Reason = Annotated[Text, Field(min_length=1, max_length=500), AfterValidator(not_blank)]


class SubjectCreate(BaseModel):
    full_name: Name
    phone: Phone
    grid_id: DbId
    observation_type: Literal["home", "centralized"]
    reason: Reason
    start_date: date | None = None
    duration_days: int | None = Field(None, ge=1, le=60)
    last_exposure_date: date | None = Field(
        None, description="When given, observation ends OBSERVATION_DAYS after it instead of after "
                          "start_date + duration_days.")
    address: Text | None = Field(None, max_length=300)
    id_number: IdNumber | None = None
    date_of_birth: date | None = None
    language: Language | None = None
    site_id: DbId | None = Field(None, description="The centralised observation site (see /sites).")
    room: Text | None = Field(None, max_length=50)
    household_id: uuid.UUID | None = Field(None, description="The household (see /households) in the same grid.")
    allow_duplicate: bool = Field(
        False, description="Enrol even though someone under observation has the same ID number, or the same "
                           "name and phone (recorded in the audit log).")


# Corrections a clinician of the person's grid may make; everything else is an administrator's.
CLINICIAN_EDITABLE = frozenset({"phone", "address", "language", "household_id"})


class SubjectUpdate(BaseModel):
    """A correction of a person's record: only the fields sent change; ``null`` clears an optional one."""

    full_name: Name | None = None
    phone: Phone | None = None
    address: Text | None = Field(None, max_length=300)
    id_number: IdNumber | None = None
    date_of_birth: date | None = None
    language: Language | None = None
    observation_type: Literal["home", "centralized"] | None = None
    site_id: DbId | None = None
    room: Text | None = Field(None, max_length=50)
    household_id: uuid.UUID | None = None


class ExtendCreate(BaseModel):
    """Move the end of observation later: by ``days``, or restart the count from a new last exposure."""

    days: int | None = Field(None, ge=1, le=60)
    last_exposure_date: date | None = None
    reason: Reason


class LastReading(BaseModel):
    temperature_c: float
    taken_at: datetime


class SubjectRead(BaseModel):
    id: uuid.UUID
    grid_id: int
    full_name: str
    phone: str
    observation_type: str
    reason: str
    start_date: date
    duration_days: int
    planned_end_date: date
    last_exposure_date: date | None
    end_date_reason: str | None
    address: str | None
    id_number_masked: str | None
    date_of_birth: date | None
    language: str | None
    status: SubjectState
    outcome: str | None = None
    site_id: int | None = None
    room: str | None = None
    household_id: uuid.UUID | None = None
    case_flag: str | None = None
    test_state: str | None = None
    roster_status: str | None
    flags: list[str]
    observation_day: int
    last_reading: LastReading | None
    open_alerts: int
    released_at: datetime | None
    release_note: str | None
    release_override: bool
    clinician_note: str | None
    created_at: datetime


class SubjectCreated(SubjectRead):
    access_code: str
    access_url: str


class AccessCodeRead(BaseModel):
    subject_id: uuid.UUID
    access_code: str
    access_url: str


NOTE_MAX_LENGTH = 4000


class NoteUpdate(BaseModel):
    clinician_note: MultilineText = Field(max_length=NOTE_MAX_LENGTH)


class CensusEnrolled(BaseModel):
    line: int
    id: uuid.UUID
    full_name: str
    grid_id: int
    access_code: str
    access_url: str


class CensusResult(BaseModel):
    created: int
    subjects: list[CensusEnrolled]
    # A dry run checks every line and writes nothing: ``created`` is 0 and ``checked`` says how many
    # lines would have enrolled someone.
    dry_run: bool = False
    checked: int = 0


class CensusProblemRead(BaseModel):
    line: int | None = None
    field: str
    code: str
    params: dict[str, Any]
    detail: str


class CensusImportRead(BaseModel):
    """A census list enrolled (or only checked) in the background, and how far it got."""

    id: uuid.UUID
    status: Literal["queued", "checking", "writing", "done", "rejected", "checked", "failed", "interrupted"]
    filename: str
    dry_run: bool
    allow_duplicates: bool
    total_rows: int
    checked_rows: int
    written_rows: int
    problem_lines: int
    errors: list[CensusProblemRead]
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    status_url: str


class ReasonRead(BaseModel):
    code: str
    message: str


class EligibilityRead(BaseModel):
    eligible: bool
    reasons: list[ReasonRead]


class ReleaseCreate(BaseModel):
    note: MultilineText | None = Field(None, max_length=2000)
    override: bool = False


class ReadmitCreate(BaseModel):
    reason: Reason
    last_exposure_date: date | None = None


class CertificateRead(BaseModel):
    id: uuid.UUID
    subject_id: uuid.UUID
    start_date: date
    end_date: date
    released_on: date
    issued_at: datetime
    issuer: str
    verify_url: str
    page_url: str


class VerificationRead(BaseModel):
    """All that a checkpoint learns from a verification link."""

    status: Literal["valid", "revoked", "expired"]
    masked_name: str | None
    released_on: date
    issuer: str


ActionKind = Literal["referred_fever_clinic", "sample_taken", "moved_to_centralized", "moved_home", "hospitalized",
                     "suspected_case", "confirmed_case", "ruled_out", "other"]


class ActionCreate(BaseModel):
    """A public-health action. `hospitalized` and `confirmed_case` end home observation (the person is
    `closed` with that outcome); `referred_fever_clinic` and `suspected_case` flag them on the roster;
    `ruled_out` clears those flags; the moves change where they are observed."""

    kind: ActionKind
    note: MultilineText | None = Field(None, max_length=2000)
    at: AwareDatetime | None = Field(None, description="When it happened (default: now); not in the future.")


class ActionRead(BaseModel):
    id: uuid.UUID
    subject_id: uuid.UUID
    kind: str
    note: str | None
    at: datetime
    recorded_by: int | None
    recorded_at: datetime


TestKind = Literal["nucleic_acid", "antigen"]
TestResultValue = Literal["pending", "negative", "positive"]


class LabTestCreate(BaseModel):
    kind: TestKind
    sampled_at: AwareDatetime
    result: TestResultValue = "pending"
    resulted_at: AwareDatetime | None = None
    lab: Text | None = Field(None, max_length=100)


class LabTestUpdate(BaseModel):
    result: TestResultValue
    resulted_at: AwareDatetime | None = None
    lab: Text | None = Field(None, max_length=100)


class LabTestRead(BaseModel):
    id: uuid.UUID
    subject_id: uuid.UUID
    kind: str
    sampled_at: datetime
    result: str
    resulted_at: datetime | None
    lab: str | None
    recorded_at: datetime


class TransferCreate(BaseModel):
    grid_id: DbId
    reason: Reason
