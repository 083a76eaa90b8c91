"""Fuzzing the JSON API from its own OpenAPI schema: whatever a caller sends, the answer is never a 5xx.

schemathesis turns each operation of ``app.openapi()`` into a hypothesis strategy of requests, both valid
ones and ones that break the schema on purpose; each is sent through the test client (ASGI, no network) as
an admin, as a clinician and as a person under observation, with ids of real records mixed in so that the
checks behind a route run, not only its 404. The example count is bounded so the whole run stays within
about a minute of `make test` on two cores."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pytest
import requests
import schemathesis
from argon2 import PasswordHasher
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from server.auth import security
from tests.factories import World

# Per operation, per role, per backend: few enough to keep the run short. The suite sends the same requests
# every run (derandomized), so it is never red by chance; to search further, raise the count, which also
# draws new requests each run: HOMEWATCH_FUZZ_EXAMPLES=200 pytest tests/server/test_api_fuzz.py
EXAMPLES = int(os.environ.get("HOMEWATCH_FUZZ_EXAMPLES", "5"))
DERANDOMIZE = "HOMEWATCH_FUZZ_EXAMPLES" not in os.environ

# Operations left out, and why.
SKIPPED = {
    # An endless text/event-stream: the ASGI test client would wait for its end. Its tests live in tests/server/live.
    ("GET", "/api/v1/events"),
    ("GET", "/api/v1/me/events"),
    # Revokes the caller's own token: the rest of the run would test nothing but 401s. Its tests live in
    # tests/server/auth/test_sign_out.py.
    ("POST", "/api/v1/auth/logout"),
}

REQUEST_ARGUMENTS = ("method", "url", "headers", "files", "data", "params", "cookies", "json")


def _known_ids(world: World, alert_id: str) -> dict[str, Any]:
    """Real ids for path parameters: a person in the caller's scope (for the clinician) and one outside."""
    return {
        "subject_id": st.sampled_from([str(world.subject_a.id), str(world.subject_b.id)]),
        "user_id": st.just(world.clinician_b.id),
        "alert_id": st.just(alert_id),
    }


def _operation_strategy(operation: Any, known: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Valid requests (to real records where the path names one) and deliberately invalid ones. Random ids in
    valid requests would mostly meet a 404, and a random staff id may be the caller's own, whom a PATCH
    would then sign out for the rest of the run."""
    names = [p.name for p in operation.path_parameters]
    if names and all(name in known for name in names):
        valid = st.fixed_dictionaries({n: known[n] for n in names}).flatmap(
            lambda ids: operation.as_strategy(generation_mode=GenerationMode.POSITIVE, path_parameters=ids))
    else:
        valid = operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
    return st.one_of(valid, operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))


def _fuzz(schema: Any, headers: dict[str, str], send: Callable[[requests.PreparedRequest], httpx.Response],
          known: dict[str, Any], own_id: int | None) -> tuple[list[str], int]:
    """Runs in a worker thread (hypothesis is synchronous); answers the 5xx seen and the requests sent."""
    failures: list[str] = []
    sent = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue

        @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.generate], derandomize=DERANDOMIZE,
                  suppress_health_check=list(HealthCheck))
        @given(case=_operation_strategy(operation, known))
        def run(case: Any) -> None:
            nonlocal sent
            arguments = case.as_transport_kwargs(base_url="http://homewatch.test", headers=headers)
            request = requests.Request(**{k: v for k, v in arguments.items() if k in REQUEST_ARGUMENTS}).prepare()
            assume(not _changes_own_account(request, own_id))
            sent += 1
            response = send(request)
            if response.status_code >= 500:
                failures.append(f"{response.status_code} {request.method} {request.url} "
                                f"body={(response.request.content or b'')[:300]!r}: {response.text[:300]}")

        run()
    return failures, sent


def _changes_own_account(request: requests.PreparedRequest, own_id: int | None) -> bool:
    """A PATCH of the caller's own account (an invalid request may still spell its id, as "01" or "+1")
    could deactivate it and leave the rest of the run testing nothing but 401s."""
    path = unquote(urlsplit(str(request.url)).path)
    if request.method != "PATCH" or not path.startswith("/api/v1/users/"):
        return False
    try:
        return int(path.rsplit("/", 1)[1]) == own_id
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    # Staff logins and new accounts hash passwords; at production cost that would be most of the run.
    monkeypatch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.mark.parametrize("role", ["admin", "clinician", "person"])
async def test_fuzzed_requests_never_get_a_server_error(
        app: FastAPI, client: httpx.AsyncClient, world: World, role: str) -> None:
    fever = await client.post("/api/v1/readings", headers=world.subj_a, json={"temperature_c": 38.9})
    alert_id = (await client.get("/api/v1/alerts", headers=world.clin_a)).json()[0]["id"]
    assert fever.status_code == 201
    headers = {"admin": world.admin_h, "clinician": world.clin_a, "person": world.subj_a}[role]
    schema = schemathesis.openapi.from_dict(app.openapi())
    loop = asyncio.get_running_loop()

    def send(request: requests.PreparedRequest) -> httpx.Response:
        body = request.body.encode() if isinstance(request.body, str) else request.body
        call = client.request(str(request.method), str(request.url), headers=dict(request.headers), content=body)
        try:
            return asyncio.run_coroutine_threadsafe(call, loop).result(timeout=60)
        except Exception as error:  # the test client re-raises what the app did not handle: a 500
            return httpx.Response(500, text=f"{type(error).__name__}: {error}", request=httpx.Request(
                str(request.method), str(request.url), content=body or b""))

    own_id = {"admin": world.admin.id, "clinician": world.clinician_a.id, "person": None}[role]
    failures, sent = await asyncio.to_thread(_fuzz, schema, headers, send, _known_ids(world, alert_id), own_id)
    assert sent > 100
    assert not failures, "\n".join(failures)
    # The caller is still signed in: the fuzz did not lock itself out and test nothing but 401s.
    still_signed_in = await client.get("/api/v1/auth/whoami", headers=headers)
    assert still_signed_in.status_code == 200, still_signed_in.text
