"""Sequences of calls that follow the links between operations: what one call creates, the next reads or changes.

FastAPI emits no OpenAPI links; Schemathesis infers them from the document (a ``POST /v1/achievements`` answers an
``id`` that ``GET``/``PATCH /v1/achievements/{listing_id}`` take, and so on for every resource).
"""

from __future__ import annotations

import contextlib
import zlib
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis.errors import FailureGroup

from tests.fuzz.conftest import EXAMPLES, Credentials, load_schema

schema = load_schema()

# Each scenario runs as one user, so that what it creates is its own to read and change.
SCENARIO_ROLES = ("a_admin", "b_admin", "platform_admin", "official", "broker")


@pytest.mark.parametrize(
    ("collection", "parameter", "created_id"),
    [
        ("/v1/achievements", "listing_id", "/id"),
        ("/v1/demands", "listing_id", "/id"),
        ("/v1/contracts", "contract_id", "/id"),
        ("/v1/challenges", "challenge_id", "/id"),
        ("/v1/organisations", "organisation_id", "/organisation/id"),
        ("/v1/subsidy-programmes", "programme_id", "/id"),
    ],
)
def test_creating_links_to_reading_and_changing(collection: str, parameter: str, created_id: str) -> None:
    """The inferred links are written into the document: the created ``id`` feeds the item's GET and PATCH."""
    schema.as_state_machine()
    item = f"{collection}/{{{parameter}}}"
    links = schema.raw_schema["paths"][collection]["post"]["responses"]["201"]["links"].values()
    targets = {(link["operationRef"], link["parameters"][f"path.{parameter}"]) for link in links}
    for method in ("get", "patch"):
        reference = "#/paths/" + item.replace("~", "~0").replace("/", "~1") + "/" + method
        assert (reference, f"$response.body#{created_id}") in targets


@pytest.mark.parametrize("role", SCENARIO_ROLES)
def test_linked_calls_answer_as_documented(role: str, fuzz_app: FastAPI, fuzz_credentials: Credentials) -> None:
    headers = fuzz_credentials.headers(role)
    failures: list[str] = []

    @hypothesis.seed(zlib.crc32(role.encode()))
    class Scenario(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"app": fuzz_app, "headers": headers}

        def validate_response(self, response: Any, case: schemathesis.Case, *args: Any, **kwargs: Any) -> None:
            try:
                super().validate_response(response, case, *args, **kwargs)
            except FailureGroup as failure:
                failures.append(str(failure))
                raise

    # The database keeps what every earlier step did, so Hypothesis cannot replay a sequence as it first ran (it
    # says Flaky, and would shrink nothing); a failed check is recorded above when it happens, and reported below.
    with contextlib.suppress(FailureGroup, hypothesis.errors.Flaky):
        Scenario.run(
            settings=hypothesis.settings(
                max_examples=EXAMPLES,
                stateful_step_count=10,
                database=None,
                deadline=None,
                suppress_health_check=list(hypothesis.HealthCheck),
                phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
            )
        )
    assert not failures, "\n".join(dict.fromkeys(failures))
