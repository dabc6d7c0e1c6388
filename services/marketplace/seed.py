"""Demo data for the embedded development service: one verified organisation per kind, one user per role."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.audit.service import record_audit
from services.marketplace.identity.security import hash_password
from services.marketplace.kit.timeutil import utcnow
from services.marketplace.kit.uscc import check_character
from services.marketplace.models import Organisation, Role, User, VerificationStatus
from services.marketplace.models.identity import OrganisationKind

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - printed to the developer on purpose


@dataclass(frozen=True)
class DemoOrganisation:
    kind: OrganisationKind
    name: str
    uscc_body: str  # the first 17 characters; the check character is computed
    region_code: str
    users: tuple[tuple[str, str, tuple[Role, ...]], ...]


DEMO_ORGANISATIONS = (
    DemoOrganisation(
        OrganisationKind.platform,
        "安徽科技大市场运营中心",
        "12340100MB0000001",
        "340104",
        (("admin@demo.ahstm.cn", "平台管理员", (Role.platform_admin,)),),
    ),
    DemoOrganisation(
        OrganisationKind.university,
        "合肥示范大学",
        "12340000MB0000002",
        "340111",
        (
            ("kjc@demo-univ.edu.cn", "科技处管理员", (Role.org_admin,)),
            ("prof.li@demo-univ.edu.cn", "李教授", (Role.member, Role.expert)),
        ),
    ),
    DemoOrganisation(
        OrganisationKind.enterprise,
        "合肥示范新能源科技有限公司",
        "91340100MA0000003",
        "340104",
        (
            ("admin@demo-energy.com", "企业管理员", (Role.org_admin,)),
            ("engineer@demo-energy.com", "王工程师", (Role.member,)),
        ),
    ),
    DemoOrganisation(
        OrganisationKind.transfer_agency,
        "合肥示范技术转移中心",
        "91340100MA0000004",
        "340103",
        (("broker@demo-transfer.cn", "张经纪人", (Role.org_admin, Role.broker)),),
    ),
    DemoOrganisation(
        OrganisationKind.government,
        "合肥市科学技术局（演示）",
        "11340100MB0000005",
        "340100",
        (
            ("official@demo-gov.cn", "统计处官员", (Role.official,)),
            ("registrar@demo-gov.cn", "合同登记员", (Role.registrar,)),
        ),
    ),
)


@dataclass(frozen=True)
class DemoAccount:
    email: str
    password: str
    organisation: str
    roles: tuple[str, ...]


async def seed_demo_data(session: AsyncSession) -> list[DemoAccount]:
    """Idempotent: organisations already present (by USCC) are left as they are."""
    password_hash = hash_password(DEMO_PASSWORD)
    accounts: list[DemoAccount] = []
    for demo in DEMO_ORGANISATIONS:
        uscc = demo.uscc_body + check_character(demo.uscc_body)
        organisation = await session.scalar(select(Organisation).where(Organisation.uscc == uscc))
        if organisation is None:
            organisation = Organisation(
                kind=demo.kind.value,
                name=demo.name,
                uscc=uscc,
                region_code=demo.region_code,
                verification_status=VerificationStatus.verified.value,
                verified_at=utcnow(),
                verification_reason="演示数据",
            )
            session.add(organisation)
            await session.flush()
            for email, display_name, roles in demo.users:
                session.add(
                    User(
                        organisation_id=organisation.id,
                        email=email,
                        display_name=display_name,
                        password_hash=password_hash,
                        roles=sorted(role.value for role in roles),
                    )
                )
            await record_audit(
                session,
                actor=None,
                action="organisation.seeded",
                object_type="organisation",
                object_id=organisation.id,
                organisation_id=organisation.id,
                after={"name": demo.name, "kind": demo.kind.value},
            )
        accounts.extend(
            DemoAccount(email, DEMO_PASSWORD, demo.name, tuple(role.value for role in roles))
            for email, _, roles in demo.users
        )
    await session.flush()
    return accounts
