"""``Idempotency-Key`` for POST endpoints: same key and body → the stored response; different body → 409.

The key row is inserted inside the request's transaction before the endpoint runs, so a concurrent
duplicate waits on the primary key until the first request commits (then replays its response) or
rolls back (then runs itself): exactly one result is created.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import JSONResponse

from services.marketplace.dependencies import SessionDep
from services.marketplace.identity.auth import PrincipalDep
from services.marketplace.kit.errors import IdempotencyConflict
from services.marketplace.models import IdempotencyRecord

REPLAY_HEADER = "Idempotent-Replayed"


class IdempotentReplay(Exception):
    def __init__(self, status_code: int, body: Any) -> None:
        super().__init__("idempotent replay")
        self.status_code = status_code
        self.body = body


async def render_replay(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, IdempotentReplay)
    return JSONResponse(exc.body, status_code=exc.status_code, headers={REPLAY_HEADER: "true"})


def _request_hash(method: str, path: str, body: bytes) -> str:
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


class Idempotency:
    def __init__(self, session: AsyncSession, principal: str | None, key: str | None) -> None:
        self.session = session
        self.principal = principal
        self.key = key

    async def respond(self, status_code: int, body: BaseModel | list[Any] | dict[str, Any]) -> JSONResponse:
        content = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
        if self.key is not None:
            await self.session.execute(
                update(IdempotencyRecord)
                .where(IdempotencyRecord.principal == self.principal, IdempotencyRecord.key == self.key)
                .values(status_code=status_code, response_body=content)
            )
        return JSONResponse(content, status_code=status_code)


async def idempotency(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=8,
            max_length=255,
            pattern=r"^[\x21-\x7e]+$",
            description="客户端生成的唯一键（如 UUID）；重复提交相同请求时返回首次结果",
        ),
    ] = None,
) -> Idempotency:
    if idempotency_key is None:
        return Idempotency(session, None, None)
    request_hash = _request_hash(request.method, request.url.path, await request.body())
    inserted = await session.scalar(
        insert(IdempotencyRecord)
        .values(
            principal=principal.key,
            key=idempotency_key,
            method=request.method,
            path=request.url.path,
            request_hash=request_hash,
        )
        .on_conflict_do_nothing()
        .returning(IdempotencyRecord.key)
    )
    if inserted is not None:
        return Idempotency(session, principal.key, idempotency_key)
    record = await session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.principal == principal.key, IdempotencyRecord.key == idempotency_key
        )
    )
    if record is None or record.request_hash != request_hash or record.status_code is None:
        raise IdempotencyConflict("此 Idempotency-Key 已用于另一个请求")
    raise IdempotentReplay(record.status_code, record.response_body)


IdempotencyDep = Annotated[Idempotency, Depends(idempotency)]
