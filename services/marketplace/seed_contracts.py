"""Demo technology contracts between the demo organisations, taken through the real workflow to registration.

So the statistics have data: a brokered patent licence of a university achievement to a Hefei firm (a local
conversion), a technical service to a firm in Shanghai, a technology import from Germany, and a commissioned
development in Wuhu whose amount was raised by a registered amendment.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.contracts import registration
from services.marketplace.contracts import service as contracts
from services.marketplace.contracts.brokers import service as brokers
from services.marketplace.contracts.brokers.schemas import BrokerProfileUpdate
from services.marketplace.contracts.schemas import AmendmentCreate, ContractCreate
from services.marketplace.identity.auth import Principal
from services.marketplace.kit.timeutil import shanghai_date, utcnow
from services.marketplace.listings import service as listings
from services.marketplace.listings.schemas import AchievementCreate
from services.marketplace.listings.specs import ACHIEVEMENTS
from services.marketplace.models import Contract, User
from services.marketplace.models.contracts import Side

UNIVERSITY_ADMIN = "kjc@demo-univ.edu.cn"
ENTERPRISE_ADMIN = "admin@demo-energy.com"
BROKER = "broker@demo-transfer.cn"
REGISTRAR = "registrar@demo-gov.cn"
PLATFORM_ADMIN = "admin@demo.ahstm.cn"
FIRST_TITLE = "高比能固态电解质制备技术专利实施许可合同"


async def _principal(session: AsyncSession, email: str) -> Principal:
    user = await session.scalar(select(User).where(User.email == email))
    assert user is not None, f"demo account {email} is seeded first"
    return Principal(organisation_id=user.organisation_id, roles=frozenset(user.roles), user_id=user.id)


def _schedule(total: int, shares: tuple[int, ...]) -> list[dict[str, Any]]:
    """Milestones in proportion to ``shares``; the last one takes the remainder so they sum exactly."""
    amounts = [total * share // sum(shares) for share in shares[:-1]]
    amounts.append(total - sum(amounts))
    today = shanghai_date(utcnow())
    return [
        {
            "title": f"第 {index + 1} 期付款",
            "due_on": (today + timedelta(days=90 * index)).isoformat(),
            "amount_fen": amount,
        }
        for index, amount in enumerate(amounts)
    ]


async def _demo_achievement(session: AsyncSession, owner: Principal, reviewer: Principal) -> str:
    data = AchievementCreate.model_validate(
        {
            "title": "高比能固态电解质制备技术",
            "summary": "硫化物固态电解质的低成本液相制备方法，室温离子电导率高。",
            "description": "液相法合成硫化物电解质，离子电导率 5 mS/cm，已完成百公斤级中试。",
            "field_code": "new_energy",
            "industry_code": "new_energy_vehicles",
            "keywords": ["固态电池", "电解质"],
            "trl": 6,
            "transfer_modes": ["license", "transfer"],
            "price_mode": "negotiable",
            "region_code": "340111",
            "valid_until": (utcnow() + timedelta(days=365)).isoformat(),
        }
    )
    achievement = await listings.create_listing(session, owner, ACHIEVEMENTS, data)
    await listings.transition(session, owner, ACHIEVEMENTS, achievement.id, "submit")
    await listings.transition(session, reviewer, ACHIEVEMENTS, achievement.id, "approve")
    return str(achievement.id)


async def _register(
    session: AsyncSession,
    body: dict[str, Any],
    author: Principal,
    signers: dict[Side, Principal],
    registrar: Principal,
) -> Contract:
    """Draft, sign (online, or on paper recorded by the platform party), submit and register one contract."""
    contract = await contracts.create_contract(session, author, ContractCreate.model_validate(body))
    await contracts.request_signatures(session, author, contract.id)
    platform_signer = next(iter(signers.values()))
    for side in Side:
        if side in signers:
            await contracts.sign_contract(session, signers[side], contract.id, contract.version)
        else:
            await contracts.record_offline_signature(
                session, platform_signer, contract.id, side, contract.version, "对方已签署纸质合同（演示数据）"
            )
    submitter = signers[Side.seller] if Side.seller in signers else signers[Side.buyer]
    await registration.submit_contract(session, submitter, contract.id)
    return await registration.register_contract(session, registrar, contract.id)


async def seed_demo_contracts(session: AsyncSession) -> int:
    """Idempotent: nothing happens when the first demo contract exists. Returns the number registered."""
    if await session.scalar(select(Contract.id).where(Contract.title == FIRST_TITLE)) is not None:
        return 0
    university = await _principal(session, UNIVERSITY_ADMIN)
    enterprise = await _principal(session, ENTERPRISE_ADMIN)
    broker = await _principal(session, BROKER)
    registrar = await _principal(session, REGISTRAR)
    platform = await _principal(session, PLATFORM_ADMIN)
    await brokers.save_own_profile(
        session,
        broker,
        BrokerProfileUpdate(
            certification_number="JSJJR-DEMO-0001",
            field_codes=["new_energy", "advanced_manufacturing"],
            region_codes=["340100"],
            bio="专注新能源与先进制造领域的技术许可和作价投资。",
        ),
    )
    achievement_id = await _demo_achievement(session, university, platform)
    validity = {
        "valid_from": shanghai_date(utcnow()).isoformat(),
        "valid_until": (shanghai_date(utcnow()) + timedelta(days=3 * 365)).isoformat(),
    }
    licence = await _register(
        session,
        {
            "title": FIRST_TITLE,
            "contract_type": "license",
            "contract_subtype": "patent_license",
            "subject": "许可受让方在合肥市实施固态电解质制备专利，普通许可，期限三年。",
            "seller": {"organisation_id": str(university.organisation_id)},
            "buyer": {"organisation_id": str(enterprise.organisation_id)},
            "contract_amount_fen": 120_000_000,
            "non_technical_costs": [{"kind": "equipment", "description": "中试反应釜一套", "amount_fen": 20_000_000}],
            "milestones": _schedule(120_000_000, (3, 7)),
            "achievement_id": achievement_id,
            "broker_id": str(broker.user_id),
            "commission": {"mode": "rate", "rate_bp": 300, "payer": "buyer"},
        }
        | validity,
        broker,
        {Side.seller: university, Side.buyer: enterprise},
        registrar,
    )
    await _register(
        session,
        {
            "title": "动力电池热管理系统技术服务合同",
            "contract_type": "service",
            "contract_subtype": "general",
            "subject": "为受托方的电池包提供热失控仿真与测试服务，提交测试报告。",
            "seller": {"organisation_id": str(enterprise.organisation_id)},
            "buyer": {"name": "上海示范汽车零部件有限公司", "region_code": "310115", "legal_nature": "enterprise"},
            "contract_amount_fen": 45_000_000,
            "milestones": _schedule(45_000_000, (1,)),
            "field_code": "new_energy",
        }
        | validity,
        enterprise,
        {Side.seller: enterprise},
        registrar,
    )
    await _register(
        session,
        {
            "title": "电极涂布工艺技术秘密转让合同（技术引进）",
            "contract_type": "transfer",
            "contract_subtype": "technical_secret",
            "subject": "引进干法电极涂布工艺技术秘密及配套工艺文件。",
            "seller": {"name": "Demo Batterietechnik GmbH", "country_code": "DE", "legal_nature": "enterprise"},
            "buyer": {"organisation_id": str(enterprise.organisation_id)},
            "contract_amount_fen": 300_000_000,
            "non_technical_costs": [{"kind": "materials", "description": "工艺验证材料", "amount_fen": 15_000_000}],
            "milestones": _schedule(300_000_000, (2, 5, 3)),
            "field_code": "advanced_manufacturing",
        }
        | validity,
        enterprise,
        {Side.buyer: enterprise},
        registrar,
    )
    development = await _register(
        session,
        {
            "title": "智能产线视觉检测系统委托开发合同",
            "contract_type": "development",
            "contract_subtype": "commissioned",
            "subject": "为委托方开发锂电极片缺陷视觉检测系统，检出率不低于 99.5%。",
            "seller": {"organisation_id": str(university.organisation_id)},
            "buyer": {"name": "芜湖示范智能装备有限公司", "region_code": "340202", "legal_nature": "enterprise"},
            "contract_amount_fen": 80_000_000,
            "milestones": _schedule(80_000_000, (1, 1)),
            "field_code": "advanced_manufacturing",
        }
        | validity,
        university,
        {Side.seller: university},
        registrar,
    )
    await contracts.start_performance(session, university, development.id)
    amendment = await registration.propose_amendment(
        session,
        university,
        development.id,
        AmendmentCreate.model_validate(
            {
                "kind": "amount_change",
                "reason": "增加第二条产线的检测模块",
                "contract_amount_fen": 100_000_000,
                "milestones": _schedule(100_000_000, (2, 2, 1)),
                "counterparty_signed_offline": True,
            }
        ),
    )
    await registration.register_amendment(session, registrar, development.id, amendment.id)
    assert licence.local_conversion_academic
    return 4
