"""Shared test helpers: a cast of organisations and users with ready-made credentials."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field

import httpx
from fastapi import FastAPI

from services.marketplace.db import unit_of_work
from services.marketplace.identity.security import hash_password, issue_access_token
from services.marketplace.kit.uscc import check_character
from services.marketplace.models import Organisation, User
from services.marketplace.models.identity import OrganisationKind, Role, VerificationStatus

PASSWORD = "correct-horse-battery"
_PASSWORD_HASH = hash_password(PASSWORD)
_serial = itertools.count(1)


def valid_uscc(body_prefix: str = "9134010") -> str:
    """A fresh valid USCC: the prefix, a serial number padded to 17 characters, and its check character."""
    body = f"{body_prefix}{next(_serial):0{17 - len(body_prefix)}d}"
    return body + check_character(body)


@dataclass
class Actor:
    user_id: uuid.UUID
    organisation_id: uuid.UUID
    email: str
    roles: list[str]
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Actors:
    """platform admin; verified university A and enterprise B (admin + member each); unverified firm C;
    a government body with an official; verified firm D (admin); a transfer agency with a broker."""

    app: FastAPI
    client: httpx.AsyncClient
    by_name: dict[str, Actor] = field(default_factory=dict)
    organisations: dict[str, uuid.UUID] = field(default_factory=dict)

    @classmethod
    async def create(cls, app: FastAPI, client: httpx.AsyncClient) -> Actors:
        cast = cls(app, client)
        await cast.add_organisation("platform", OrganisationKind.platform, {"platform_admin": [Role.platform_admin]})
        await cast.add_organisation(
            "a", OrganisationKind.university, {"a_admin": [Role.org_admin], "a_member": [Role.member]}
        )
        await cast.add_organisation(
            "b", OrganisationKind.enterprise, {"b_admin": [Role.org_admin], "b_member": [Role.member]}
        )
        await cast.add_organisation(
            "c", OrganisationKind.enterprise, {"c_admin": [Role.org_admin]}, status=VerificationStatus.registered
        )
        await cast.add_organisation("gov", OrganisationKind.government, {"official": [Role.official]})
        await cast.add_organisation("d", OrganisationKind.enterprise, {"d_admin": [Role.org_admin]})
        await cast.add_organisation("agency", OrganisationKind.transfer_agency, {"broker": [Role.broker, Role.member]})
        return cast

    def __getitem__(self, name: str) -> Actor:
        return self.by_name[name]

    async def add_organisation(
        self,
        key: str,
        kind: OrganisationKind,
        users: dict[str, list[Role]],
        status: VerificationStatus = VerificationStatus.verified,
    ) -> uuid.UUID:
        settings = self.app.state.settings
        async with unit_of_work(self.app.state.sessionmaker) as session:
            organisation = Organisation(
                kind=kind.value,
                name=f"测试机构 {key}",
                uscc=valid_uscc(),
                region_code="340104",
                verification_status=status.value,
            )
            session.add(organisation)
            await session.flush()
            for name, roles in users.items():
                user = User(
                    organisation_id=organisation.id,
                    email=f"{name}.{uuid.uuid4().hex[:6]}@example.cn",
                    display_name=name,
                    password_hash=_PASSWORD_HASH,
                    roles=[role.value for role in roles],
                )
                session.add(user)
                await session.flush()
                token, _ = issue_access_token(
                    settings, user_id=user.id, organisation_id=organisation.id, roles=user.roles
                )
                self.by_name[name] = Actor(user.id, organisation.id, user.email, user.roles, token)
        self.organisations[key] = organisation.id
        return organisation.id


def achievement_body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "title": "高比能固态锂电池电解质制备技术",
        "summary": "一种硫化物固态电解质的低成本制备方法，室温离子电导率高。",
        "description": "采用液相法合成硫化物电解质，离子电导率达到 5 mS/cm，已完成百公斤级中试。",
        "field_code": "new_energy",
        "industry_code": "new_energy_vehicles",
        "keywords": ["固态电池", "电解质", "锂电"],
        "trl": 6,
        "ip_items": [{"type": "invention_patent", "number": "ZL201811564288.X", "status": "granted"}],
        "transfer_modes": ["license", "transfer"],
        "price_mode": "fixed",
        "price_fen": 50_000_000_00,
        "team": [{"name": "李教授", "title": "教授", "role": "负责人"}],
        "region_code": "340104",
        "valid_until": "2030-12-31T16:00:00Z",
        "contact": {"name": "王老师", "phone": "0551-63600000", "email": "tt@univ.example.cn"},
    }
    body.update(overrides)
    return body


def demand_body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "title": "新能源汽车电池包热失控预警技术需求",
        "problem": "现有电池包热失控预警滞后，需要提前 5 分钟以上预警。",
        "technical_indicators": "预警提前量 ≥ 5 min；误报率 ≤ 0.1%；成本增加 ≤ 200 元/包",
        "existing_conditions": "具备电池包测试台架",
        "budget_min_fen": 50_000_000,
        "budget_max_fen": 200_000_000,
        "cooperation_modes": ["co_development", "license"],
        "field_code": "new_energy",
        "industry_code": "new_energy_vehicles",
        "keywords": ["热失控", "电池包"],
        "min_trl": 5,
        "region_code": "340111",
        "deadline": "2030-06-30T16:00:00Z",
        "confidentiality": "public",
        "contact": {"name": "赵经理", "phone": "13800000000"},
    }
    body.update(overrides)
    return body
