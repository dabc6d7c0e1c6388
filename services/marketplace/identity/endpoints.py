from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from services.marketplace.dependencies import SessionDep, SettingsDep
from services.marketplace.identity import repository as repo
from services.marketplace.identity import service
from services.marketplace.identity.auth import OptionalPrincipalDep, PrincipalDep, require_roles
from services.marketplace.identity.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    OrganisationRead,
    OrganisationRegistration,
    OrganisationUpdate,
    RefreshRequest,
    RegistrationResult,
    RejectionRequest,
    RolesUpdate,
    TokenResponse,
    UserCreate,
    UserRead,
)
from services.marketplace.kit.errors import NotFound, problem_responses
from services.marketplace.kit.idempotency import IdempotencyDep
from services.marketplace.kit.pagination import Page, PageRequestDep, paginate
from services.marketplace.models import ApiKey, Organisation, Role, User
from services.marketplace.models.identity import OrganisationKind, VerificationStatus

auth_router = APIRouter(prefix="/v1/auth", tags=["auth"])
organisations_router = APIRouter(prefix="/v1/organisations", tags=["organisations"])
users_router = APIRouter(prefix="/v1/users", tags=["users"])
api_keys_router = APIRouter(prefix="/v1/api-keys", tags=["api-keys"])

OrgAdmin = Annotated[object, Depends(require_roles(Role.org_admin, Role.platform_admin))]


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _limit_login(request: Request, settings: SettingsDep, account: str) -> None:
    await request.app.state.rate_limiter.hit(
        {
            f"login:account:{account.lower()}": settings.login_rate_limit_per_account,
            f"login:address:{_client_address(request)}": settings.login_rate_limit_per_address,
        },
        settings.login_rate_limit_window_seconds,
    )


def _tokens(issued: service.IssuedTokens) -> TokenResponse:
    return TokenResponse(
        access_token=issued.access_token, expires_in=issued.expires_in, refresh_token=issued.refresh_token
    )


@auth_router.post("/token", responses=problem_responses(401, 422, 429))
async def issue_token(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
) -> TokenResponse:
    """OAuth2 password flow: ``username`` is the account's email."""
    await _limit_login(request, settings, form.username)
    return _tokens(await service.login(session, settings, form.username, form.password))


@auth_router.post("/refresh", responses=problem_responses(401, 422, 429))
async def refresh_token(
    request: Request, body: RefreshRequest, session: SessionDep, settings: SettingsDep
) -> TokenResponse:
    await _limit_login(request, settings, "refresh:" + body.refresh_token[:16])
    try:
        return _tokens(await service.refresh(session, settings, body.refresh_token))
    except service.RefreshTokenReused:
        await session.commit()  # keep the family revocation although the request fails
        raise


@auth_router.post("/revoke", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(422, 429))
async def revoke_token(request: Request, body: RefreshRequest, session: SessionDep, settings: SettingsDep) -> Response:
    """Revoke a refresh token and every token rotated from it (RFC 7009: unknown tokens are not an error)."""
    await _limit_login(request, settings, "revoke:" + body.refresh_token[:16])
    await service.revoke(session, body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@organisations_router.post("", status_code=status.HTTP_201_CREATED, responses=problem_responses(409, 422))
async def register_organisation(body: OrganisationRegistration, session: SessionDep) -> RegistrationResult:
    """Self-registration of an organisation with its first administrator; platform staff then verify it."""
    organisation, admin = await service.register_organisation(session, body)
    return RegistrationResult(
        organisation=OrganisationRead.model_validate(organisation), admin=UserRead.model_validate(admin)
    )


@organisations_router.get("", responses=problem_responses(401, 422))
async def list_organisations(
    session: SessionDep,
    principal: OptionalPrincipalDep,
    page: PageRequestDep,
    verification_status: Annotated[VerificationStatus | None, Query()] = None,
    kind: Annotated[OrganisationKind | None, Query()] = None,
) -> Page[OrganisationRead]:
    statement = repo.readable_organisations(principal)
    if verification_status is not None:
        statement = statement.where(Organisation.verification_status == verification_status.value)
    if kind is not None:
        statement = statement.where(Organisation.kind == kind.value)
    rows, cursor = await paginate(session, statement, page, [Organisation.created_at, Organisation.id])
    return Page(items=[OrganisationRead.model_validate(row) for row in rows], next_cursor=cursor)


@organisations_router.get("/{organisation_id}", responses=problem_responses(401, 404, 422))
async def get_organisation(
    organisation_id: uuid.UUID, session: SessionDep, principal: OptionalPrincipalDep
) -> OrganisationRead:
    return OrganisationRead.model_validate(await service.get_organisation(session, principal, organisation_id))


@organisations_router.patch("/{organisation_id}", responses=problem_responses(401, 403, 404, 409, 422))
async def update_organisation(
    organisation_id: uuid.UUID, body: OrganisationUpdate, session: SessionDep, principal: PrincipalDep
) -> OrganisationRead:
    organisation = await service.update_organisation(session, principal, organisation_id, body)
    return OrganisationRead.model_validate(organisation)


@organisations_router.post("/{organisation_id}/verify", responses=problem_responses(401, 403, 404, 409, 422))
async def verify_organisation(
    organisation_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> OrganisationRead:
    organisation = await service.decide_verification(session, principal, organisation_id, "verify", None)
    return OrganisationRead.model_validate(organisation)


@organisations_router.post("/{organisation_id}/reject", responses=problem_responses(401, 403, 404, 409, 422))
async def reject_organisation(
    organisation_id: uuid.UUID, body: RejectionRequest, session: SessionDep, principal: PrincipalDep
) -> OrganisationRead:
    organisation = await service.decide_verification(session, principal, organisation_id, "reject", body.reason)
    return OrganisationRead.model_validate(organisation)


@organisations_router.post("/{organisation_id}/resubmit", responses=problem_responses(401, 403, 404, 409, 422))
async def resubmit_organisation(
    organisation_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> OrganisationRead:
    """After a rejection and the corrections, the organisation's admin asks for review again."""
    organisation = await service.decide_verification(session, principal, organisation_id, "resubmit", None)
    return OrganisationRead.model_validate(organisation)


@organisations_router.get("/{organisation_id}/users", responses=problem_responses(401, 403, 404, 422))
async def list_organisation_users(
    organisation_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    _: OrgAdmin,
    page: PageRequestDep,
) -> Page[UserRead]:
    if not (principal.is_platform_admin or principal.belongs_to(organisation_id)):
        raise NotFound("机构不存在")
    statement = repo.readable_users(principal).where(User.organisation_id == organisation_id)
    rows, cursor = await paginate(session, statement, page, [User.created_at, User.id])
    return Page(items=[UserRead.model_validate(row) for row in rows], next_cursor=cursor)


@organisations_router.post(
    "/{organisation_id}/users",
    status_code=status.HTTP_201_CREATED,
    response_model=UserRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def create_user(
    organisation_id: uuid.UUID,
    body: UserCreate,
    session: SessionDep,
    principal: PrincipalDep,
    idempotency: IdempotencyDep,
) -> Response:
    user = await service.create_user(session, principal, organisation_id, body)
    return await idempotency.respond(status.HTTP_201_CREATED, UserRead.model_validate(user))


@users_router.get("/me", responses=problem_responses(401))
async def get_current_user(session: SessionDep, principal: PrincipalDep) -> UserRead:
    if principal.user_id is None:
        raise NotFound("API 密钥没有对应的用户")
    user = await repo.get_readable_user(session, principal, principal.user_id)
    if user is None:
        raise NotFound("用户不存在")
    return UserRead.model_validate(user)


@users_router.get("/{user_id}", responses=problem_responses(401, 404, 422))
async def get_user(user_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> UserRead:
    user = await repo.get_readable_user(session, principal, user_id)
    if user is None:
        raise NotFound("用户不存在")
    return UserRead.model_validate(user)


@users_router.put("/{user_id}/roles", responses=problem_responses(401, 403, 404, 409, 422))
async def set_user_roles(
    user_id: uuid.UUID, body: RolesUpdate, session: SessionDep, principal: PrincipalDep
) -> UserRead:
    return UserRead.model_validate(await service.set_roles(session, principal, user_id, body.roles))


@users_router.post("/{user_id}/deactivate", responses=problem_responses(401, 403, 404, 409, 422))
async def deactivate_user(user_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> UserRead:
    return UserRead.model_validate(await service.deactivate_user(session, principal, user_id))


@api_keys_router.post("", status_code=status.HTTP_201_CREATED, responses=problem_responses(401, 403, 422))
async def create_api_key(
    body: ApiKeyCreate, session: SessionDep, principal: PrincipalDep, _: OrgAdmin
) -> ApiKeyCreated:
    api_key, full_key = await service.create_api_key(session, principal, body)
    return ApiKeyCreated(**ApiKeyRead.model_validate(api_key).model_dump(), key=full_key)


@api_keys_router.get("", responses=problem_responses(401, 403, 422))
async def list_api_keys(
    session: SessionDep, principal: PrincipalDep, _: OrgAdmin, page: PageRequestDep
) -> Page[ApiKeyRead]:
    rows, cursor = await paginate(session, repo.readable_api_keys(principal), page, [ApiKey.created_at, ApiKey.id])
    return Page(items=[ApiKeyRead.model_validate(row) for row in rows], next_cursor=cursor)


@api_keys_router.post("/{api_key_id}/revoke", responses=problem_responses(401, 403, 404, 422))
async def revoke_api_key(
    api_key_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, _: OrgAdmin
) -> ApiKeyRead:
    return ApiKeyRead.model_validate(await service.revoke_api_key(session, principal, api_key_id))


routers = [auth_router, organisations_router, users_router, api_keys_router]
