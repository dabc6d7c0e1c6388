"""Demo 揭榜挂帅 data, taken through the real workflow: a subsidy programme, a published challenge that is open
for applications, and a challenge awarded to the demo transfer agency after expert review and 公示."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.challenges import applications, programmes, review, service
from services.marketplace.challenges.schemas import ApplicationCreate, ChallengeCreate, ProgrammeCreate, ScoreInput
from services.marketplace.identity.auth import Principal
from services.marketplace.kit.money import FEN_PER_WAN
from services.marketplace.kit.timeutil import shanghai_date, utcnow
from services.marketplace.models import Challenge, SubsidyProgramme, User

POSTER = "admin@demo-energy.com"
APPLICANT = "broker@demo-transfer.cn"
EXPERT = "prof.li@demo-univ.edu.cn"
OFFICIAL = "official@demo-gov.cn"
PLATFORM_ADMIN = "admin@demo.ahstm.cn"
PROGRAMME = "合肥市揭榜挂帅项目奖补（演示）"
OPEN_TITLE = "动力电池包热失控早期预警技术攻关"
AWARDED_TITLE = "钠离子电池低温性能提升技术攻关"


async def _principal(session: AsyncSession, email: str) -> Principal:
    user = await session.scalar(select(User).where(User.email == email))
    assert user is not None, f"demo account {email} is seeded first"
    return Principal(organisation_id=user.organisation_id, roles=frozenset(user.roles), user_id=user.id)


async def _programme(session: AsyncSession) -> uuid.UUID:
    existing = await session.scalar(select(SubsidyProgramme.id).where(SubsidyProgramme.name == PROGRAMME))
    if existing is not None:
        return existing
    data = ProgrammeCreate(
        name=PROGRAMME,
        description="按发榜企业实际支付额的 20% 给予补助，单个项目最高 500 万元；首笔不超过企业首付款的 50%。",
        rate_bp=2000,
        cap_fen=500 * FEN_PER_WAN,
        first_tranche_bp=5000,
    )
    return (await programmes.create_programme(session, await _principal(session, OFFICIAL), data)).id


def _terms(title: str, deadline_in_days: int, programme_id: uuid.UUID) -> ChallengeCreate:
    today = shanghai_date(utcnow())
    return ChallengeCreate.model_validate(
        {
            "title": title,
            "problem": "现有方案在低温与滥用工况下性能衰减明显，需要在不显著增加成本的前提下解决关键技术难题。",
            "technical_indicators": "-20℃ 容量保持率 ≥ 90%；预警提前量 ≥ 5 分钟；成本增加 ≤ 5%",
            "field_code": "new_energy",
            "industry_code": "new_energy_vehicles",
            "keywords": ["动力电池", "热失控", "低温性能"],
            "delivery_deadline": (today + timedelta(days=540)).isoformat(),
            "ip_ownership": "shared",
            "ip_terms": "背景知识产权归各自所有，项目成果双方共有，发榜方享有优先实施权。",
            "reward_fen": 800 * FEN_PER_WAN,
            "poster_funded_fen": 600 * FEN_PER_WAN,
            "eligibility": {"region_prefixes": ["34"], "min_qualifications": "具有省级及以上研发平台或同等能力"},
            "application_deadline": (today + timedelta(days=deadline_in_days)).isoformat(),
            "notice_days": 5,
            "milestones": [
                {
                    "title": "首付款",
                    "due_on": (today + timedelta(days=60)).isoformat(),
                    "amount_fen": 240 * FEN_PER_WAN,
                },
                {
                    "title": "中期检查",
                    "due_on": (today + timedelta(days=270)).isoformat(),
                    "amount_fen": 240 * FEN_PER_WAN,
                },
                {
                    "title": "结题验收",
                    "due_on": (today + timedelta(days=500)).isoformat(),
                    "amount_fen": 320 * FEN_PER_WAN,
                },
            ],
            "subsidy_programme_id": str(programme_id),
        }
    )


async def _published(session: AsyncSession, title: str, deadline_in_days: int, programme_id: uuid.UUID) -> Challenge:
    poster = await _principal(session, POSTER)
    challenge = await service.create_challenge(session, poster, _terms(title, deadline_in_days, programme_id))
    await service.submit_challenge(session, poster, challenge.id)
    return await service.approve_challenge(session, await _principal(session, PLATFORM_ADMIN), challenge.id)


async def _award(session: AsyncSession, challenge: Challenge) -> None:
    """Apply, close at the deadline, review, shortlist, 公示 and award, as the worker and each party would."""
    applicant = await _principal(session, APPLICANT)
    application = await applications.create_application(
        session,
        applicant,
        challenge.id,
        ApplicationCreate(proposal="采用新型电解液添加剂与多参数融合预警算法，已完成 1 Ah 软包电池验证。"),
    )
    await applications.submit_application(session, applicant, challenge.id, application.id)
    await service.close_due_challenges(session, challenge.applications_close_at)
    platform = await _principal(session, PLATFORM_ADMIN)
    expert = await _principal(session, EXPERT)
    assert expert.user_id is not None
    await review.assign_expert(session, platform, challenge.id, expert.user_id)
    await review.start_review(session, platform, challenge.id)
    scores = {str(criterion["code"]): 85 for criterion in challenge.review_criteria}
    await review.score_application(session, expert, challenge.id, application.id, ScoreInput(scores=scores))
    poster = await _principal(session, POSTER)
    await review.shortlist(session, poster, challenge.id, [application.id], None)
    await review.start_public_notice(session, poster, challenge.id, application.id)
    assert challenge.notice_ends_at is not None
    await service.finalize_public_notices(session, challenge.notice_ends_at)


async def seed_demo_challenges(session: AsyncSession) -> int:
    """Idempotent: nothing is added when the demo challenges exist. Returns how many challenges were seeded."""
    if await session.scalar(select(Challenge.id).where(Challenge.title.in_([OPEN_TITLE, AWARDED_TITLE]))):
        return 0
    programme_id = await _programme(session)
    await _published(session, OPEN_TITLE, 30, programme_id)
    await _award(session, await _published(session, AWARDED_TITLE, 0, programme_id))
    return 2
