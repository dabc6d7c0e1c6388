"""Pydantic field types built on the kit's validators, so every schema reports the same field errors."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from services.marketplace.kit.regions import RegionError, validate_region_code
from services.marketplace.kit.uscc import USCCError, validate_uscc


def _uscc(value: str) -> str:
    try:
        return validate_uscc(value)
    except USCCError as exc:
        raise ValueError(exc.message) from exc


def _region(value: str) -> str:
    try:
        return validate_region_code(value)
    except RegionError as exc:
        raise ValueError(exc.message) from exc


USCC = Annotated[str, StringConstraints(min_length=1, max_length=32), AfterValidator(_uscc)]
RegionCode = Annotated[str, StringConstraints(min_length=1, max_length=6), AfterValidator(_region)]
NonBlank = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
