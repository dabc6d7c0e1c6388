"""RFC 9457 problem details: one base class, one renderer, a stable ``type`` per error."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://techmarket.ahstm.cn/problems/"


class FieldError(BaseModel):
    model_config = ConfigDict(extra="forbid")

    loc: list[str | int]
    msg: str
    type: str


class ProblemDocument(BaseModel):
    """The body of every error response."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


class Problem(Exception):
    """Base of every error the API reports on purpose."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "请求无效"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Sequence[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.errors = list(errors) if errors else None
        self.headers = headers or {}
        self.extensions = extensions

    @classmethod
    def type_uri(cls) -> str:
        return TYPE_BASE + cls.slug

    def document(self, request_id: str | None, instance: str | None) -> ProblemDocument:
        return ProblemDocument(
            type=self.type_uri(),
            title=self.title,
            status=self.status,
            detail=self.detail,
            instance=instance,
            request_id=request_id,
            errors=self.errors,
            **self.extensions,
        )


class ValidationProblem(Problem):
    status = 422
    slug = "validation-error"
    title = "请求参数校验失败"

    @classmethod
    def for_field(cls, loc: Sequence[str | int], msg: str, type_: str = "value_error") -> ValidationProblem:
        return cls(msg, errors=[FieldError(loc=list(loc), msg=msg, type=type_)])


class Unauthorized(Problem):
    status = 401
    slug = "unauthorized"
    title = "未认证或凭据无效"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kwargs)


class Forbidden(Problem):
    status = 403
    slug = "forbidden"
    title = "无权执行此操作"


class NotFound(Problem):
    status = 404
    slug = "not-found"
    title = "资源不存在"


class MethodNotAllowed(Problem):
    status = 405
    slug = "method-not-allowed"
    title = "不支持的请求方法"


class Conflict(Problem):
    status = 409
    slug = "conflict"
    title = "与当前状态冲突"


class IllegalTransition(Conflict):
    slug = "illegal-transition"
    title = "当前状态不允许此操作"


class IdempotencyConflict(Conflict):
    slug = "idempotency-key-reused"
    title = "幂等键已用于不同的请求"


class PayloadTooLarge(Problem):
    status = 413
    slug = "payload-too-large"
    title = "请求体过大"


class UnsupportedMediaType(Problem):
    status = 415
    slug = "unsupported-media-type"
    title = "不支持的内容类型"


class TooManyRequests(Problem):
    status = 429
    slug = "rate-limited"
    title = "请求过于频繁"

    def __init__(self, retry_after_seconds: int, detail: str | None = None) -> None:
        super().__init__(
            detail or f"请在 {retry_after_seconds} 秒后重试",
            headers={"Retry-After": str(retry_after_seconds)},
            retry_after=retry_after_seconds,
        )


class ServiceUnavailable(Problem):
    status = 503
    slug = "service-unavailable"
    title = "服务暂时不可用"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"Retry-After": "5"})
        super().__init__(detail, **kwargs)


class InternalError(Problem):
    status = 500
    slug = "internal-error"
    title = "服务器内部错误"


_HTTP_STATUS_PROBLEMS: dict[int, type[Problem]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    409: Conflict,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
}


def problem_response(request: Request, problem: Problem) -> JSONResponse:
    request_id = getattr(request.state, "request_id", None)
    body = problem.document(request_id, request.url.path).model_dump(mode="json", exclude_none=True)
    return JSONResponse(body, status_code=problem.status, headers=problem.headers, media_type=PROBLEM_MEDIA_TYPE)


def _validation_errors(exc: RequestValidationError) -> list[FieldError]:
    errors: list[FieldError] = []
    for error in exc.errors():
        loc = [part if isinstance(part, int) else str(part) for part in error.get("loc", ())]
        errors.append(FieldError(loc=loc, msg=str(error.get("msg", "")), type=str(error.get("type", "value_error"))))
    return errors


async def _handle_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(request, exc)


async def _handle_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return problem_response(request, ValidationProblem("请求内容不符合接口要求", errors=_validation_errors(exc)))


async def _handle_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    problem_class = _HTTP_STATUS_PROBLEMS.get(exc.status_code)
    if problem_class is None:
        problem: Problem = Problem(str(exc.detail))
        problem.status = exc.status_code  # type: ignore[misc]
    else:
        problem = problem_class(str(exc.detail) if exc.detail else None)
    if exc.headers:
        problem.headers.update(exc.headers)
    return problem_response(request, problem)


async def _handle_database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("database unavailable: %s", exc)
    return problem_response(request, ServiceUnavailable("数据库暂时不可用，请稍后重试"))


async def _handle_integrity(request: Request, exc: Exception) -> JSONResponse:
    """A unique or foreign-key race the service's own checks could not see coming is a conflict, not a crash."""
    assert isinstance(exc, IntegrityError)
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if sqlstate in ("23505", "23503"):
        return problem_response(request, Conflict("与已有数据冲突，请刷新后重试"))
    return await handle_unexpected(request, exc)


# Deadlock and serialization failure: the transaction was rolled back as a whole and can simply be retried.
TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})
# Connection exceptions (class 08), the server going away or not taking connections yet (57P01 admin
# shutdown, 57P02 crash shutdown, 57P03 "the database system is starting up / shutting down") or full (53300).
UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")


def database_unavailable(exc: DBAPIError) -> bool:
    """The database cannot be reached or is restarting (not a bug of the request)."""
    sqlstate = getattr(exc.orig, "sqlstate", None) or ""
    return exc.connection_invalidated or sqlstate.startswith(UNAVAILABLE_SQLSTATES)


async def _handle_database_error(request: Request, exc: Exception) -> JSONResponse:
    """A database that went away or is restarting is a 503; anything else is a bug."""
    assert isinstance(exc, DBAPIError)
    if database_unavailable(exc):
        return await _handle_database_unavailable(request, exc)
    if getattr(exc.orig, "sqlstate", None) in TRANSIENT_SQLSTATES:
        return problem_response(request, ServiceUnavailable("并发冲突，请稍后重试", headers={"Retry-After": "1"}))
    return await handle_unexpected(request, exc)


async def handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error", exc_info=exc)
    return problem_response(request, InternalError("请求处理失败，已记录错误编号"))


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _handle_problem)
    app.add_exception_handler(RequestValidationError, _handle_validation)
    app.add_exception_handler(StarletteHTTPException, _handle_http)
    app.add_exception_handler(OperationalError, _handle_database_unavailable)
    app.add_exception_handler(OSError, _handle_database_unavailable)
    app.add_exception_handler(IntegrityError, _handle_integrity)
    app.add_exception_handler(DBAPIError, _handle_database_error)
    app.add_exception_handler(Exception, handle_unexpected)


_DOCUMENTED_PROBLEMS: dict[int, type[Problem]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: ValidationProblem,
    429: TooManyRequests,
    503: ServiceUnavailable,
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the given problem statuses."""
    return {
        status: {
            "model": ProblemDocument,
            "content": {PROBLEM_MEDIA_TYPE: {}},
            "description": _DOCUMENTED_PROBLEMS[status].title,
        }
        for status in statuses
    }
