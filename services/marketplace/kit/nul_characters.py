"""PostgreSQL cannot store U+0000 in text: a request carrying it in any value is refused at the edge with a 422."""

from __future__ import annotations

import json
from collections.abc import Iterator

from fastapi import Request

from services.marketplace.kit.errors import FieldError, ValidationProblem

NUL = "\x00"
MESSAGE = "文本不能包含 NUL 字符（U+0000）"
Location = tuple[str | int, ...]


def _nul_locations(value: object, location: Location) -> Iterator[Location]:
    if isinstance(value, str):
        if NUL in value:
            yield location
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _nul_locations(key, location)
            yield from _nul_locations(item, (*location, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_locations(item, (*location, index))


async def _body_locations(request: Request) -> list[Location]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        return [("body", name) for name, value in form.multi_items() if isinstance(value, str) and NUL in value]
    body = await request.body()
    if b"\\u0000" not in body:  # JSON can carry U+0000 only as this escape
        return []
    try:
        document = json.loads(body)
    except ValueError:
        return []  # not JSON: the route's own parsing reports it
    return list(_nul_locations(document, ("body",)))


async def reject_nul_characters(request: Request) -> None:
    """App-wide dependency: path and query values, form fields and JSON strings (keys included) without U+0000."""
    locations: list[Location] = [("path", name) for name, value in request.path_params.items() if NUL in str(value)]
    locations += [("query", name) for name, value in request.query_params.multi_items() if NUL in value]
    locations += await _body_locations(request)
    if locations:
        errors = [FieldError(loc=list(location), msg=MESSAGE, type="string_nul_character") for location in locations]
        raise ValidationProblem(MESSAGE, errors=errors)
