from __future__ import annotations

import re
from collections import Counter

from fastapi.routing import APIRoute

from services.marketplace.app import ROUTERS
from services.marketplace.cli import OPENAPI_PATH, render_openapi


def test_committed_openapi_document_matches_the_app() -> None:
    committed = OPENAPI_PATH.read_text(encoding="utf-8")
    assert committed == render_openapi() + "\n", "run `techmarket openapi export` and commit openapi/openapi.json"


def test_operation_ids_are_clean_and_unique() -> None:
    import json

    document = json.loads(render_openapi())
    ids = [op["operationId"] for path in document["paths"].values() for op in path.values()]
    assert all(re.fullmatch(r"[a-z-]+-[a-z_]+", operation_id) for operation_id in ids), ids
    assert not [name for name, count in Counter(ids).items() if count > 1]


def test_every_documented_path_comes_from_the_routers_the_access_matrix_checks() -> None:
    import json

    documented = set(json.loads(render_openapi())["paths"])
    routed = {route.path for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)}
    assert documented <= routed


def test_error_responses_are_documented_as_problem_json() -> None:
    import json

    document = json.loads(render_openapi())
    verify = document["paths"]["/v1/organisations/{organisation_id}/verify"]["post"]["responses"]
    assert "application/problem+json" in verify["409"]["content"]


def test_every_error_is_documented_as_the_problem_the_handlers_render() -> None:
    """One pass (kit/openapi.py) documents what the contract fuzzer found undocumented: problem+json only, a 422
    on every operation (NUL characters), a 400 and a 413 on every operation with a body."""
    import json

    document = json.loads(render_openapi())
    assert not {"HTTPValidationError", "ValidationError"} & document["components"]["schemas"].keys()
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDocument"}}}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            expected = {"422", "400", "413"} if "requestBody" in operation else {"422"}
            assert expected <= responses.keys(), (method, path)
            for status, response in responses.items():
                if status >= "400" and (path, status) != ("/readyz", "503"):
                    assert response["content"] == problem, (method, path, status)
