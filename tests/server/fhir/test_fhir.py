"""The FHIR read API as another health system uses it: every resource it serves validates against the
FHIR models (fhir.resources), scope is the JSON API's, and errors are OperationOutcomes."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
from fhir.resources.R4B import get_fhir_model_class

from server.context import AppContext
from tests.conftest import Clock
from tests.factories import World

ID_NUMBER = "11010519491231002X"
TEMPERATURE = "http://loinc.org|8310-5"
SYMPTOM = "http://loinc.org|75325-1"


def valid(resource: dict[str, Any]) -> dict[str, Any]:
    """Fails the test unless ``resource`` is a valid FHIR resource of its type (R4B, as R4 here)."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return resource


def fhir_json(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    return valid(response.json())


def issue(response: httpx.Response, status: int) -> str:
    outcome = fhir_json(response, status)
    assert outcome["resourceType"] == "OperationOutcome"
    return str(outcome["issue"][0]["code"])


async def _readings(client: httpx.AsyncClient, world: World, clock: Clock) -> None:
    await client.post("/api/v1/readings", headers=world.subj_a, json={"temperature_c": 36.6})
    clock.now += timedelta(hours=10)
    await client.post("/api/v1/readings", headers=world.subj_a,
                      json={"temperature_c": 38.4, "symptoms": ["cough", "sore_throat"]})
    await client.post("/api/v1/readings", headers=world.subj_b, json={"temperature_c": 36.9})


async def test_metadata_is_a_capability_statement_anyone_can_read(client: httpx.AsyncClient) -> None:
    statement = fhir_json(await client.get("/fhir/metadata"))
    assert statement["resourceType"] == "CapabilityStatement" and statement["fhirVersion"] == "4.0.1"
    assert {r["type"] for r in statement["rest"][0]["resource"]} == {"Patient", "Observation"}


async def test_a_patient_is_read_in_scope_only_and_the_id_number_only_by_an_admin(
        client: httpx.AsyncClient, world: World) -> None:
    patched = await client.patch(f"/api/v1/subjects/{world.subject_a.id}", headers=world.admin_h,
                                 json={"id_number": ID_NUMBER, "address": "东园路 1 号"})
    assert patched.status_code == 200, patched.text
    url = f"/fhir/Patient/{world.subject_a.id}"
    seen = fhir_json(await client.get(url, headers=world.clin_a))
    assert seen["id"] == str(world.subject_a.id) and seen["name"] == [{"text": "王小明"}]
    assert seen["telecom"][0]["value"] == "+8613800138000" and seen["address"][0]["text"] == "东园路 1 号"
    assert [i["value"] for i in seen["identifier"]] == [str(world.subject_a.id)]  # no ID number for a clinician
    as_admin = fhir_json(await client.get(url, headers=world.admin_h))
    assert ID_NUMBER in [i["value"] for i in as_admin["identifier"]]

    assert issue(await client.get(url, headers=world.clin_b), 404) == "not-found"  # another grid's person
    assert issue(await client.get(url), 401) == "login"
    assert issue(await client.get("/fhir/Patient/not-an-id", headers=world.admin_h), 404) == "not-found"
    audit = (await client.get("/api/v1/audit", params={"subject_id": str(world.subject_a.id)},
                              headers=world.admin_h)).json()
    assert sum(e["action"] == "fhir.patient_read" for e in audit) == 2


async def test_patients_are_found_by_identifier_within_scope(client: httpx.AsyncClient, world: World,
                                                              app_ctx: AppContext) -> None:
    await client.patch(f"/api/v1/subjects/{world.subject_a.id}", headers=world.admin_h, json={"id_number": ID_NUMBER})
    system = app_ctx.settings.fhir_id_number_system
    found = fhir_json(await client.get("/fhir/Patient", params={"identifier": f"{system}|{ID_NUMBER}"},
                                       headers=world.admin_h))
    assert found["type"] == "searchset" and found["total"] == 1
    assert found["entry"][0]["resource"]["id"] == str(world.subject_a.id)
    assert found["entry"][0]["fullUrl"] == f"http://homewatch.test/fhir/Patient/{world.subject_a.id}"
    by_id = fhir_json(await client.get("/fhir/Patient", params={"identifier": str(world.subject_a.id)},
                                       headers=world.clin_a))
    assert by_id["total"] == 1
    elsewhere = fhir_json(await client.get("/fhir/Patient", params={"identifier": ID_NUMBER}, headers=world.clin_b))
    assert elsewhere["total"] == 0 and "entry" not in elsewhere or elsewhere.get("entry") == []
    mine = fhir_json(await client.get("/fhir/Patient", headers=world.clin_b))
    assert [e["resource"]["id"] for e in mine["entry"]] == [str(world.subject_b.id)]


async def test_temperatures_and_symptoms_are_observations_with_paging_and_dates(
        client: httpx.AsyncClient, world: World, clock: Clock, app_ctx: AppContext) -> None:
    await _readings(client, world, clock)
    patient = f"Patient/{world.subject_a.id}"
    temps = fhir_json(await client.get("/fhir/Observation", params={"patient": patient, "code": TEMPERATURE},
                                       headers=world.clin_a))
    assert temps["total"] == 2
    values = [e["resource"]["valueQuantity"] for e in temps["entry"]]
    assert values == [{"value": 36.6, "unit": "Cel", "system": "http://unitsofmeasure.org", "code": "Cel"},
                      {"value": 38.4, "unit": "Cel", "system": "http://unitsofmeasure.org", "code": "Cel"}]
    first = temps["entry"][0]["resource"]
    assert first["code"]["coding"][0]["code"] == "8310-5"
    assert first["category"][0]["coding"][0]["code"] == "vital-signs"
    assert first["meta"]["profile"] == ["http://hl7.org/fhir/StructureDefinition/bodytemp"]
    assert first["subject"] == {"reference": patient}

    symptoms = fhir_json(await client.get("/fhir/Observation", params={"patient": patient, "code": SYMPTOM},
                                          headers=world.clin_a))
    coded = [[c["code"] for c in e["resource"]["valueCodeableConcept"]["coding"]] for e in symptoms["entry"]]
    assert coded == [["49727002", "cough"], ["162397003", "sore_throat"]]
    for entry in symptoms["entry"]:
        assert entry["resource"]["category"][0]["coding"][0]["code"] == "survey"
        read = fhir_json(await client.get(f"/fhir/Observation/{entry['resource']['id']}", headers=world.clin_a))
        assert read == entry["resource"]

    # The later reading only, by date; then the pages of one.
    later = (app_ctx.now() - timedelta(hours=1)).isoformat(timespec="seconds")
    recent = fhir_json(await client.get("/fhir/Observation", params={"patient": patient, "code": TEMPERATURE,
                                                                     "date": f"ge{later}"}, headers=world.clin_a))
    assert [e["resource"]["valueQuantity"]["value"] for e in recent["entry"]] == [38.4]
    page = fhir_json(await client.get("/fhir/Observation", params={"patient": patient, "code": TEMPERATURE,
                                                                   "_count": 1}, headers=world.clin_a))
    assert len(page["entry"]) == 1
    following = next(link["url"] for link in page["link"] if link["relation"] == "next")
    second = fhir_json(await client.get(following.removeprefix("http://homewatch.test"), headers=world.clin_a))
    assert [e["resource"]["valueQuantity"]["value"] for e in second["entry"]] == [38.4]
    assert "next" not in {link["relation"] for link in second["link"]}

    foreign = fhir_json(await client.get("/fhir/Observation", params={"patient": patient}, headers=world.clin_b))
    assert foreign["total"] == 0 if "total" in foreign else foreign.get("entry", []) == []
    assert issue(await client.get("/fhir/Observation", params={"patient": patient, "date": "yesterday"},
                                  headers=world.clin_a), 400) == "invalid"
    assert issue(await client.get("/fhir/Observation", headers=world.clin_a), 400) == "invalid"


async def test_a_grids_bulk_export_is_ndjson_of_valid_resources_in_scope(
        client: httpx.AsyncClient, world: World, clock: Clock) -> None:
    await _readings(client, world, clock)
    response = await client.get(f"/fhir/Group/{world.grid_a.id}/$export", headers=world.clin_a)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+ndjson")
    resources = [valid(json.loads(line)) for line in response.text.splitlines()]
    assert [r["resourceType"] for r in resources] == ["Patient"] + ["Observation"] * 4
    assert {r["subject"]["reference"] for r in resources[1:]} == {f"Patient/{world.subject_a.id}"}
    only_people = await client.get(f"/fhir/Group/{world.grid_a.id}/$export", params={"_type": "Patient"},
                                   headers=world.clin_a)
    assert len(only_people.text.splitlines()) == 1
    assert issue(await client.get(f"/fhir/Group/{world.grid_a.id}/$export", headers=world.clin_b), 404) == "not-found"
    assert issue(await client.get(f"/fhir/Group/{world.grid_a.id}/$export", params={"_type": "Encounter"},
                                  headers=world.clin_a), 400) == "invalid"
    assert issue(await client.get("/fhir/Encounter", headers=world.clin_a), 404) == "not-found"
