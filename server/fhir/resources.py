"""homewatch's records as FHIR R4 resources: plain JSON dicts, built from rows, nothing read or written here.

A person under observation is a ``Patient``; each reading is a body-temperature ``Observation`` that
follows the vital-signs profile (LOINC 8310-5, UCUM ``Cel``) and, for each symptom declared with it, a
survey ``Observation`` (LOINC 75325-1 "Symptom") coded in SNOMED CT where a code fits and always in
homewatch's own code system. The tests validate every resource built here with the ``fhir.resources``
models."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from monitoring.symptoms import SYMPTOM_CODES

FHIR_VERSION = "4.0.1"
JSON = "application/fhir+json"
NDJSON = "application/fhir+ndjson"

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
BODY_TEMPERATURE = "8310-5"
SYMPTOM = "75325-1"
BODY_TEMPERATURE_PROFILE = "http://hl7.org/fhir/StructureDefinition/bodytemp"

# SNOMED CT concepts for the symptoms the form offers; "other" and the combined taste-or-smell item have
# no single concept and carry homewatch's code and the text only.
SNOMED_SYMPTOMS: dict[str, tuple[str, str]] = {
    "chills": ("43724002", "Chill"),
    "cough": ("49727002", "Cough"),
    "sore_throat": ("162397003", "Pain in throat"),
    "shortness_of_breath": ("267036007", "Dyspnea"),
    "fatigue": ("84229001", "Fatigue"),
    "muscle_ache": ("68962001", "Muscle pain"),
    "headache": ("25064002", "Headache"),
    "diarrhea": ("62315008", "Diarrhea"),
    "nausea": ("422587007", "Nausea"),
    "runny_nose": ("64531003", "Nasal discharge"),
}
SYMPTOM_TEXT = {
    "loss_of_taste_or_smell": "Loss of taste or smell",
    "other": "Other symptom",
}


def instant(moment: datetime) -> str:
    """An aware datetime as FHIR's dateTime/instant (seconds precision, offset kept)."""
    return moment.isoformat(timespec="seconds")


class Systems:
    """The URIs that name homewatch's identifiers and codes, under the deployment's public address."""

    def __init__(self, base_url: str, id_number_system: str) -> None:
        self.base = base_url.rstrip("/")
        self.fhir_base = f"{self.base}/fhir"
        self.subject = f"{self.base}/fhir/sid/subject"
        self.symptom = f"{self.base}/fhir/CodeSystem/symptom"
        self.id_number = id_number_system


def patient(subject: Any, systems: Systems, *, with_id_number: bool) -> dict[str, Any]:
    """A ``Patient`` from a subjects row. The national ID number is an identifier only for callers
    allowed to see it in full (administrators); everyone else finds the person by homewatch's id."""
    identifiers: list[dict[str, Any]] = [{"use": "usual", "system": systems.subject, "value": str(subject.id)}]
    if with_id_number and subject.id_number:
        identifiers.append({
            "use": "official",
            "type": {"coding": [{"system": IDENTIFIER_TYPE, "code": "NI",
                                 "display": "National unique individual identifier"}]},
            "system": systems.id_number, "value": subject.id_number,
        })
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(subject.id),
        "identifier": identifiers,
        "active": subject.state == "active",
        "name": [{"text": subject.full_name}],
    }
    if subject.phone:
        resource["telecom"] = [{"system": "phone", "value": subject.phone, "use": "mobile"}]
    if subject.date_of_birth:
        resource["birthDate"] = _date(subject.date_of_birth)
    if subject.address:
        resource["address"] = [{"use": "home", "text": subject.address}]
    if subject.language:
        resource["communication"] = [{"language": {"coding": [{"system": "urn:ietf:bcp:47",
                                                               "code": _bcp47(subject.language)}]},
                                      "preferred": True}]
    return resource


def _date(value: date) -> str:
    return value.isoformat()


def _bcp47(language: str) -> str:
    return {"zh_Hans": "zh-CN", "zh_Hant": "zh-TW", "en": "en"}.get(language, language.replace("_", "-"))


def temperature_observation(reading: Any, systems: Systems) -> dict[str, Any]:
    """A reading's temperature per the FHIR vital-signs body-temperature profile."""
    return {
        "resourceType": "Observation",
        "id": str(reading.id),
        "meta": {"profile": [BODY_TEMPERATURE_PROFILE]},
        "status": "final",
        "category": [_category("vital-signs", "Vital Signs")],
        "code": {"coding": [{"system": LOINC, "code": BODY_TEMPERATURE, "display": "Body temperature"}],
                 "text": "Body temperature"},
        "subject": {"reference": f"Patient/{reading.subject_id}"},
        "effectiveDateTime": instant(reading.taken_at),
        "issued": instant(reading.received_at),
        "valueQuantity": {"value": reading.temperature_c, "unit": "Cel", "system": UCUM, "code": "Cel"},
        **({"method": {"text": reading.method}} if reading.method else {}),
    }


def symptom_observation_id(reading_id: object, code: str) -> str:
    """Stable and within FHIR's id alphabet ([A-Za-z0-9-.], at most 64): the reading's id and the
    symptom's position in the form's list."""
    return f"{reading_id}-s{SYMPTOM_CODES.index(code)}"


def symptom_observations(reading: Any, systems: Systems) -> list[dict[str, Any]]:
    """One survey ``Observation`` per symptom declared with a reading."""
    resources = []
    for code in reading.symptoms or ():
        if code not in SYMPTOM_CODES:
            continue
        codings = [{"system": systems.symptom, "code": code}]
        text = SYMPTOM_TEXT.get(code)
        if code in SNOMED_SYMPTOMS:
            concept, display = SNOMED_SYMPTOMS[code]
            codings.insert(0, {"system": SNOMED, "code": concept, "display": display})
            text = display
        if code == "other" and reading.note:
            text = reading.note
        resources.append({
            "resourceType": "Observation",
            "id": symptom_observation_id(reading.id, code),
            "status": "final",
            "category": [_category("survey", "Survey")],
            "code": {"coding": [{"system": LOINC, "code": SYMPTOM, "display": "Symptom"}], "text": "Symptom"},
            "subject": {"reference": f"Patient/{reading.subject_id}"},
            "effectiveDateTime": instant(reading.taken_at),
            "issued": instant(reading.received_at),
            "valueCodeableConcept": {"coding": codings, "text": text},
            "derivedFrom": [{"reference": f"Observation/{reading.id}"}],
        })
    return resources


def observations(reading: Any, systems: Systems, *, codes: frozenset[str] | None = None) -> list[dict[str, Any]]:
    """The Observations of one reading, limited to the LOINC ``codes`` asked for (None: all)."""
    found = []
    if codes is None or BODY_TEMPERATURE in codes:
        found.append(temperature_observation(reading, systems))
    if codes is None or SYMPTOM in codes:
        found += symptom_observations(reading, systems)
    return found


def _category(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": OBSERVATION_CATEGORY, "code": code, "display": display}]}


def searchset(resources: Sequence[dict[str, Any]], systems: Systems, *, total: int | None,
              links: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """A search's page as a ``Bundle`` of type searchset; ``links`` are (relation, url) pairs."""
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": [{"relation": relation, "url": url} for relation, url in links],
        "entry": [{"fullUrl": f"{systems.fhir_base}/{r['resourceType']}/{r['id']}", "resource": r,
                   "search": {"mode": "match"}} for r in resources],
    }
    if total is not None:
        bundle["total"] = total
    return bundle


def operation_outcome(code: str, diagnostics: str, *, severity: str = "error") -> dict[str, Any]:
    """Why a FHIR request failed, as FHIR clients expect it (``code`` from the issue-type value set)."""
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}]}


def capability_statement(systems: Systems, *, software_version: str, published: datetime) -> dict[str, Any]:
    """What this server answers: read and search of Patient and Observation, and the bulk export."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": instant(published),
        "kind": "instance",
        "software": {"name": "homewatch", "version": software_version},
        "implementation": {"description": "homewatch home-observation monitoring", "url": systems.fhir_base},
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "security": {"description": "A staff member's bearer token (POST /api/v1/auth/token); each "
                                        "staff member reads the people of their own areas only."},
            "resource": [
                {"type": "Patient", "interaction": [{"code": "read"}, {"code": "search-type"}],
                 "searchParam": [
                     {"name": "identifier", "type": "token",
                      "documentation": f"{systems.subject}|<id> or {systems.id_number}|<ID number>"},
                     {"name": "_count", "type": "number"}]},
                {"type": "Observation", "supportedProfile": [BODY_TEMPERATURE_PROFILE],
                 "interaction": [{"code": "read"}, {"code": "search-type"}],
                 "searchParam": [
                     {"name": "patient", "type": "reference", "documentation": "Required."},
                     {"name": "code", "type": "token",
                      "documentation": f"{LOINC}|{BODY_TEMPERATURE} (temperature) or {LOINC}|{SYMPTOM} (symptoms)"},
                     {"name": "category", "type": "token", "documentation": "vital-signs or survey"},
                     {"name": "date", "type": "date", "documentation": "Prefixes eq, ge, gt, le, lt."},
                     {"name": "_count", "type": "number"}]},
            ],
            "operation": [{"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export",
                           "documentation": "GET /fhir/Group/{grid id}/$export streams the grid's Patients and "
                                            "Observations as NDJSON at once (no asynchronous kick-off)."}],
        }],
    }
