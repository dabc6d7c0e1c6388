"""The OpenAPI document describes problems as the handlers render them, in one pass over every operation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from services.marketplace.kit.errors import PROBLEM_MEDIA_TYPE, PayloadTooLarge, Problem, ValidationProblem

PROBLEM_SCHEMA = "#/components/schemas/ProblemDocument"
# FastAPI documents request validation with its own schemas; the handlers answer with a problem instead.
FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_SCHEMA}}}}


def _problem_description(status: str, response: dict[str, Any]) -> str | None:
    """The description of a response that is a problem: documented by ``problem_responses``, FastAPI's 422, or
    an error status documented without content (every error this API answers is a problem)."""
    reference = response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
    if reference == PROBLEM_SCHEMA or (status.startswith(("4", "5")) and "content" not in response):
        return str(response["description"])
    if reference == "#/components/schemas/HTTPValidationError":
        return ValidationProblem.title
    return None


def document_problems(document: dict[str, Any]) -> dict[str, Any]:
    """Every problem response as ``application/problem+json`` with its schema; every operation may answer 422,
    and one with a request body 400 (a body that cannot be parsed) and 413 (``BodyLimitMiddleware``). Idempotent."""
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            responses: dict[str, Any] = operation["responses"]
            for status, response in responses.items():
                description = _problem_description(status, response)
                if description is not None:
                    responses[status] = _problem(description)
            # `reject_nul_characters` may refuse any request.
            responses.setdefault("422", _problem(ValidationProblem.title))
            if "requestBody" in operation:
                responses.setdefault("400", _problem(Problem.title))
                responses.setdefault("413", _problem(PayloadTooLarge.title))
    schemas = document.get("components", {}).get("schemas", {})
    for name in FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    return document


def install_problem_documentation(app: FastAPI) -> None:
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        return document_problems(generate())

    app.openapi = openapi  # type: ignore[method-assign]
