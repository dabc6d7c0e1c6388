from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime

import pytest

from services.marketplace.kit.errors import ValidationProblem
from services.marketplace.kit.pagination import decode_cursor, encode_cursor


def _cursor(values: list[object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def test_a_cursor_round_trips() -> None:
    values = [datetime(2026, 5, 1, 8, 30, tzinfo=UTC), uuid.UUID(int=7)]
    assert decode_cursor(encode_cursor(values), 2) == values


@pytest.mark.parametrize(
    "values",
    [
        [2**63],  # past bigint: PostgreSQL would refuse the comparison
        [-(2**63) - 1],
        [{"t": "0001-01-01T00:00:00+14:00"}],  # before year 1 once in UTC
        [{"t": "9999-12-31T23:59:59-14:00"}],  # after year 9999 once in UTC
        [{"u": 5}],
        [{"t": 5}],
        ["a\x00"],  # PostgreSQL text cannot hold U+0000
        [True],
    ],
)
def test_a_forged_cursor_is_a_validation_problem_not_a_database_error(values: list[object]) -> None:
    with pytest.raises(ValidationProblem):
        decode_cursor(_cursor(values), len(values))
