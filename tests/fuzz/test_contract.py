"""Every documented operation, fuzzed with valid and invalid input by every role, answers as documented.

Per operation: the coverage phase (deterministic boundary values and type violations of every parameter and
field) and the fuzzing phase, both in positive and negative mode, with the checks of ``CONFIG``. Nothing is
excluded: the file uploads, the xlsx/CSV downloads and the Stripe webhook answer as documented too, and the
dashboard page and ``/metrics`` are not in the document.
"""

from __future__ import annotations

import zlib

import schemathesis
from fastapi import FastAPI

from tests.fuzz.conftest import ROLES, Credentials, load_schema

schema = load_schema()


def _role(case: schemathesis.Case) -> str:
    """The caller of a case follows from its content, so every role gets a share of each operation's cases and a
    failing case replays as the same caller (a role drawn with ``given`` would switch the coverage phase off)."""
    key = repr((case.operation.label, case.path_parameters, case.query, case.body)).encode()
    return ROLES[zlib.crc32(key) % len(ROLES)]


@schema.parametrize()
def test_every_operation_answers_as_documented(
    case: schemathesis.Case, fuzz_app: FastAPI, fuzz_credentials: Credentials
) -> None:
    case.call_and_validate(app=fuzz_app, headers=fuzz_credentials.headers(_role(case)))
