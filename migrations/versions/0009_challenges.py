"""challenges: 揭榜挂帅 challenges, applications, expert review, 公示 objections, milestones and their money

- the milestone plan must sum to the reward (``fen_total()`` of 0005 in a CHECK);
- ``challenges.winner_application_id`` and ``challenge_applications.challenge_id`` reference each other, so the
  first foreign key is added after both tables exist;
- money movements are append-only (``refuse_changes()`` of 0001): every escrow step is a new row.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 13:41:15.516404+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "challenge_code_counters",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_serial", sa.Integer(), nullable=False),
        sa.CheckConstraint("last_serial BETWEEN 1 AND 9999", name=op.f("ck_challenge_code_counters_last_serial")),
        sa.CheckConstraint("year BETWEEN 2000 AND 9999", name=op.f("ck_challenge_code_counters_year")),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_challenge_code_counters")),
    )
    op.create_table(
        "subsidy_programmes",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("rate_bp", sa.Integer(), nullable=False),
        sa.Column("cap_fen", sa.BigInteger(), nullable=False),
        sa.Column("first_tranche_bp", sa.Integer(), nullable=False),
        sa.Column("payee", sa.String(length=8), server_default="poster", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("payee IN ('poster', 'winner')", name=op.f("ck_subsidy_programmes_payee")),
        sa.CheckConstraint("cap_fen > 0", name=op.f("ck_subsidy_programmes_cap_positive")),
        sa.CheckConstraint("first_tranche_bp BETWEEN 0 AND 10000", name=op.f("ck_subsidy_programmes_first_tranche_bp")),
        sa.CheckConstraint("rate_bp BETWEEN 1 AND 10000", name=op.f("ck_subsidy_programmes_rate_bp")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_subsidy_programmes_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_programmes")),
        sa.UniqueConstraint("name", name=op.f("uq_subsidy_programmes_name")),
    )
    op.create_table(
        "challenges",
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("code", sa.String(length=12), nullable=True),
        sa.Column("status", sa.String(length=24), server_default="draft", nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("technical_indicators", sa.Text(), nullable=False),
        sa.Column("field_code", sa.String(length=40), nullable=False),
        sa.Column("industry_code", sa.String(length=40), nullable=True),
        sa.Column(
            "keywords",
            postgresql.ARRAY(sa.String(length=40)),
            server_default=sa.text("'{}'::varchar[]"),
            nullable=False,
        ),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("delivery_deadline", sa.Date(), nullable=False),
        sa.Column("ip_ownership", sa.String(length=16), nullable=False),
        sa.Column("ip_terms", sa.Text(), nullable=True),
        sa.Column("reward_fen", sa.BigInteger(), nullable=False),
        sa.Column("poster_funded_fen", sa.BigInteger(), nullable=False),
        sa.Column(
            "eligible_kinds",
            postgresql.ARRAY(sa.String(length=32)),
            server_default=sa.text("'{}'::varchar[]"),
            nullable=False,
        ),
        sa.Column(
            "eligible_region_prefixes",
            postgresql.ARRAY(sa.String(length=6)),
            server_default=sa.text("'{}'::varchar[]"),
            nullable=False,
        ),
        sa.Column("min_qualifications", sa.Text(), nullable=True),
        sa.Column("application_deadline", sa.Date(), nullable=False),
        sa.Column("applications_close_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notice_days", sa.Integer(), nullable=False),
        sa.Column("milestones", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("review_criteria", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("subsidy_programme_id", sa.UUID(), nullable=True),
        sa.Column("subsidy_rate_bp", sa.Integer(), nullable=True),
        sa.Column("subsidy_cap_fen", sa.BigInteger(), nullable=True),
        sa.Column("subsidy_first_tranche_bp", sa.Integer(), nullable=True),
        sa.Column("subsidy_payee", sa.String(length=8), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.UUID(), nullable=True),
        sa.Column("review_comment", sa.Text(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unclaimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("applications_closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("shortlisted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("panel_ranking", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("shortlist_reason", sa.Text(), nullable=True),
        sa.Column("winner_application_id", sa.UUID(), nullable=True),
        sa.Column("winner_organisation_id", sa.UUID(), nullable=True),
        sa.Column("notice_starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notice_ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("awarded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("contract_id", sa.UUID(), nullable=True),
        sa.Column("agreement", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("contracted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivery_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acceptance_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acceptance_comment", sa.Text(), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancellation_reason", sa.Text(), nullable=True),
        sa.Column("terminated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("termination_reason", sa.Text(), nullable=True),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("code ~ '^JB-[0-9]{4}-[0-9]{4}$'", name=op.f("ck_challenges_code")),
        sa.CheckConstraint(
            "eligible_kinds <@ ARRAY['university', 'research_institute', 'enterprise', 'transfer_agency', 'government', 'platform']::varchar[]",
            name=op.f("ck_challenges_eligible_kinds"),
        ),
        sa.CheckConstraint(
            "ip_ownership IN ('poster', 'winner', 'shared', 'negotiated')", name=op.f("ck_challenges_ip_ownership")
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'submitted', 'returned', 'cancelled') OR code IS NOT NULL",
            name=op.f("ck_challenges_published_has_code"),
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'submitted', 'returned', 'published', 'unclaimed', 'applications_closed', 'under_review', 'shortlisted', 'public_notice', 'awarded', 'contracted', 'in_progress', 'acceptance_review', 'rectification', 'accepted', 'closed', 'cancelled', 'terminated')",
            name=op.f("ck_challenges_status"),
        ),
        sa.CheckConstraint(
            "(subsidy_rate_bp IS NULL) = (subsidy_cap_fen IS NULL) AND (subsidy_rate_bp IS NULL) = (subsidy_first_tranche_bp IS NULL) AND (subsidy_rate_bp IS NULL) = (subsidy_payee IS NULL)",
            name=op.f("ck_challenges_subsidy_terms_complete"),
        ),
        sa.CheckConstraint(
            "jsonb_array_length(milestones) > 0 AND fen_total(milestones) = reward_fen",
            name=op.f("ck_challenges_milestones_sum"),
        ),
        sa.CheckConstraint("jsonb_array_length(review_criteria) > 0", name=op.f("ck_challenges_review_criteria")),
        sa.CheckConstraint("notice_days BETWEEN 1 AND 30", name=op.f("ck_challenges_notice_days")),
        sa.CheckConstraint("poster_funded_fen BETWEEN 0 AND reward_fen", name=op.f("ck_challenges_poster_funded")),
        sa.CheckConstraint("reward_fen > 0", name=op.f("ck_challenges_reward_positive")),
        sa.ForeignKeyConstraint(["contract_id"], ["contracts.id"], name=op.f("fk_challenges_contract_id_contracts")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_challenges_created_by_users")),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_challenges_organisation_id_organisations")
        ),
        sa.ForeignKeyConstraint(["reviewed_by"], ["users.id"], name=op.f("fk_challenges_reviewed_by_users")),
        sa.ForeignKeyConstraint(
            ["subsidy_programme_id"],
            ["subsidy_programmes.id"],
            name=op.f("fk_challenges_subsidy_programme_id_subsidy_programmes"),
        ),
        sa.ForeignKeyConstraint(
            ["winner_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_challenges_winner_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenges")),
        sa.UniqueConstraint("code", name=op.f("uq_challenges_code")),
    )
    op.create_index(
        "ix_challenges_notice_end",
        "challenges",
        ["notice_ends_at"],
        unique=False,
        postgresql_where=sa.text("status = 'public_notice'"),
    )
    op.create_index(
        "ix_challenges_open_deadline",
        "challenges",
        ["applications_close_at"],
        unique=False,
        postgresql_where=sa.text("status = 'published'"),
    )
    op.create_index("ix_challenges_org_created", "challenges", ["organisation_id", "created_at", "id"], unique=False)
    op.create_index("ix_challenges_status_created", "challenges", ["status", "created_at", "id"], unique=False)
    op.create_table(
        "challenge_applications",
        sa.Column("challenge_id", sa.UUID(), nullable=False),
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="draft", nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("proposal", sa.Text(), nullable=False),
        sa.Column(
            "team", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False
        ),
        sa.Column("qualifications", sa.Text(), nullable=True),
        sa.Column(
            "attachments",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("shortlisted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("return_comment", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'submitted', 'returned', 'withdrawn', 'accepted', 'rejected')",
            name=op.f("ck_challenge_applications_status"),
        ),
        sa.ForeignKeyConstraint(
            ["challenge_id"], ["challenges.id"], name=op.f("fk_challenge_applications_challenge_id_challenges")
        ),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_challenge_applications_created_by_users")),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_challenge_applications_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenge_applications")),
        sa.UniqueConstraint("challenge_id", "organisation_id", name="uq_challenge_applications_challenge_org"),
    )
    op.create_index(
        "ix_challenge_applications_org_created",
        "challenge_applications",
        ["organisation_id", "created_at", "id"],
        unique=False,
    )
    op.create_foreign_key(
        op.f("fk_challenges_winner_application_id_challenge_applications"),
        "challenges",
        "challenge_applications",
        ["winner_application_id"],
        ["id"],
    )
    op.create_table(
        "challenge_escrows",
        sa.Column("challenge_id", sa.UUID(), nullable=False),
        sa.Column("payer_organisation_id", sa.UUID(), nullable=False),
        sa.Column("payee_organisation_id", sa.UUID(), nullable=False),
        sa.Column("reserved_fen", sa.BigInteger(), nullable=False),
        sa.Column("released_fen", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("refunded_fen", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("status", sa.String(length=8), server_default="held", nullable=False),
        sa.Column("settlement_reference", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status = 'held' OR released_fen + refunded_fen = reserved_fen",
            name=op.f("ck_challenge_escrows_closed_when_exhausted"),
        ),
        sa.CheckConstraint("status IN ('held', 'settled', 'closed')", name=op.f("ck_challenge_escrows_status")),
        sa.CheckConstraint(
            "released_fen + refunded_fen <= reserved_fen", name=op.f("ck_challenge_escrows_within_reserve")
        ),
        sa.CheckConstraint(
            "released_fen >= 0 AND refunded_fen >= 0", name=op.f("ck_challenge_escrows_movements_non_negative")
        ),
        sa.CheckConstraint("reserved_fen > 0", name=op.f("ck_challenge_escrows_reserved_positive")),
        sa.ForeignKeyConstraint(
            ["challenge_id"], ["challenges.id"], name=op.f("fk_challenge_escrows_challenge_id_challenges")
        ),
        sa.ForeignKeyConstraint(
            ["payee_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_challenge_escrows_payee_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["payer_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_challenge_escrows_payer_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("challenge_id", name=op.f("pk_challenge_escrows")),
    )
    op.create_table(
        "challenge_experts",
        sa.Column("challenge_id", sa.UUID(), nullable=False),
        sa.Column("expert_user_id", sa.UUID(), nullable=False),
        sa.Column("expert_organisation_id", sa.UUID(), nullable=False),
        sa.Column("assigned_by", sa.UUID(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["assigned_by"], ["users.id"], name=op.f("fk_challenge_experts_assigned_by_users")),
        sa.ForeignKeyConstraint(
            ["challenge_id"], ["challenges.id"], name=op.f("fk_challenge_experts_challenge_id_challenges")
        ),
        sa.ForeignKeyConstraint(
            ["expert_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_challenge_experts_expert_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["expert_user_id"], ["users.id"], name=op.f("fk_challenge_experts_expert_user_id_users")
        ),
        sa.PrimaryKeyConstraint("challenge_id", "expert_user_id", name=op.f("pk_challenge_experts")),
    )
    op.create_index(op.f("ix_challenge_experts_expert_user_id"), "challenge_experts", ["expert_user_id"], unique=False)
    op.create_table(
        "challenge_milestones",
        sa.Column("challenge_id", sa.UUID(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("poster_share_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), server_default="pending", nullable=False),
        sa.Column("delivery_note", sa.Text(), nullable=True),
        sa.Column(
            "attachments",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("return_comment", sa.Text(), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_by", sa.UUID(), nullable=True),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "(status = 'accepted') = (accepted_at IS NOT NULL)",
            name=op.f("ck_challenge_milestones_acceptance_complete"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'submitted', 'accepted')", name=op.f("ck_challenge_milestones_status")
        ),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_challenge_milestones_amount_positive")),
        sa.CheckConstraint(
            "poster_share_fen BETWEEN 0 AND amount_fen", name=op.f("ck_challenge_milestones_poster_share")
        ),
        sa.ForeignKeyConstraint(["accepted_by"], ["users.id"], name=op.f("fk_challenge_milestones_accepted_by_users")),
        sa.ForeignKeyConstraint(
            ["challenge_id"], ["challenges.id"], name=op.f("fk_challenge_milestones_challenge_id_challenges")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenge_milestones")),
        sa.UniqueConstraint("challenge_id", "sequence", name="uq_challenge_milestones_challenge_sequence"),
    )
    op.create_table(
        "challenge_subsidy_tranches",
        sa.Column("challenge_id", sa.UUID(), nullable=False),
        sa.Column("programme_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("payee_organisation_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=12), server_default="planned", nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settlement_reference", sa.String(length=100), nullable=True),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "(status = 'due') = (due_at IS NOT NULL)", name=op.f("ck_challenge_subsidy_tranches_due_complete")
        ),
        sa.CheckConstraint("kind IN ('first', 'final')", name=op.f("ck_challenge_subsidy_tranches_kind")),
        sa.CheckConstraint(
            "status IN ('planned', 'due', 'cancelled')", name=op.f("ck_challenge_subsidy_tranches_status")
        ),
        sa.CheckConstraint("amount_fen >= 0", name=op.f("ck_challenge_subsidy_tranches_amount_non_negative")),
        sa.ForeignKeyConstraint(
            ["challenge_id"], ["challenges.id"], name=op.f("fk_challenge_subsidy_tranches_challenge_id_challenges")
        ),
        sa.ForeignKeyConstraint(
            ["payee_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_challenge_subsidy_tranches_payee_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["subsidy_programmes.id"],
            name=op.f("fk_challenge_subsidy_tranches_programme_id_subsidy_programmes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenge_subsidy_tranches")),
        sa.UniqueConstraint("challenge_id", "kind", name="uq_challenge_subsidy_tranches_challenge_kind"),
    )
    op.create_table(
        "challenge_conflicts",
        sa.Column("application_id", sa.UUID(), nullable=False),
        sa.Column("expert_user_id", sa.UUID(), nullable=False),
        sa.Column("challenge_id", sa.UUID(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("declared_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["challenge_applications.id"],
            name=op.f("fk_challenge_conflicts_application_id_challenge_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["challenge_id"], ["challenges.id"], name=op.f("fk_challenge_conflicts_challenge_id_challenges")
        ),
        sa.ForeignKeyConstraint(
            ["expert_user_id"], ["users.id"], name=op.f("fk_challenge_conflicts_expert_user_id_users")
        ),
        sa.PrimaryKeyConstraint("application_id", "expert_user_id", name=op.f("pk_challenge_conflicts")),
    )
    op.create_index(op.f("ix_challenge_conflicts_challenge_id"), "challenge_conflicts", ["challenge_id"], unique=False)
    op.create_table(
        "challenge_money_movements",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("movement_key", sa.String(length=120), nullable=False),
        sa.Column("challenge_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("milestone_id", sa.UUID(), nullable=True),
        sa.Column("from_organisation_id", sa.UUID(), nullable=True),
        sa.Column("to_organisation_id", sa.UUID(), nullable=True),
        sa.Column("settlement_reference", sa.String(length=100), nullable=True),
        sa.Column(
            "occurred_at", sa.DateTime(timezone=True), server_default=sa.text("clock_timestamp()"), nullable=False
        ),
        sa.CheckConstraint(
            "kind IN ('escrow_reserved', 'tranche_released', 'escrow_refunded')",
            name=op.f("ck_challenge_money_movements_kind"),
        ),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_challenge_money_movements_amount_positive")),
        sa.ForeignKeyConstraint(
            ["challenge_id"], ["challenges.id"], name=op.f("fk_challenge_money_movements_challenge_id_challenges")
        ),
        sa.ForeignKeyConstraint(
            ["from_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_challenge_money_movements_from_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["milestone_id"],
            ["challenge_milestones.id"],
            name=op.f("fk_challenge_money_movements_milestone_id_challenge_milestones"),
        ),
        sa.ForeignKeyConstraint(
            ["to_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_challenge_money_movements_to_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenge_money_movements")),
        sa.UniqueConstraint("movement_key", name=op.f("uq_challenge_money_movements_movement_key")),
    )
    op.create_index(
        "ix_challenge_money_movements_challenge", "challenge_money_movements", ["challenge_id", "id"], unique=False
    )
    op.execute(
        "CREATE TRIGGER challenge_money_movements_append_only BEFORE UPDATE OR DELETE ON challenge_money_movements "
        "FOR EACH ROW EXECUTE FUNCTION refuse_changes()"
    )
    op.execute(
        "CREATE TRIGGER challenge_money_movements_no_truncate BEFORE TRUNCATE ON challenge_money_movements "
        "FOR EACH STATEMENT EXECUTE FUNCTION refuse_changes()"
    )
    op.create_table(
        "challenge_objections",
        sa.Column("challenge_id", sa.UUID(), nullable=False),
        sa.Column("application_id", sa.UUID(), nullable=False),
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("filed_by", sa.UUID(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), server_default="open", nullable=False),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("resolved_by", sa.UUID(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("clock_timestamp()"), nullable=False
        ),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.CheckConstraint(
            "(status = 'open') = (resolved_at IS NULL)", name=op.f("ck_challenge_objections_resolution_complete")
        ),
        sa.CheckConstraint("status IN ('open', 'upheld', 'dismissed')", name=op.f("ck_challenge_objections_status")),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["challenge_applications.id"],
            name=op.f("fk_challenge_objections_application_id_challenge_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["challenge_id"], ["challenges.id"], name=op.f("fk_challenge_objections_challenge_id_challenges")
        ),
        sa.ForeignKeyConstraint(["filed_by"], ["users.id"], name=op.f("fk_challenge_objections_filed_by_users")),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_challenge_objections_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(["resolved_by"], ["users.id"], name=op.f("fk_challenge_objections_resolved_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenge_objections")),
    )
    op.create_index(
        "ix_challenge_objections_challenge_created",
        "challenge_objections",
        ["challenge_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "challenge_scores",
        sa.Column("challenge_id", sa.UUID(), nullable=False),
        sa.Column("application_id", sa.UUID(), nullable=False),
        sa.Column("expert_user_id", sa.UUID(), nullable=False),
        sa.Column("scores", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("weighted_score_centi", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("weighted_score_centi BETWEEN 0 AND 10000", name=op.f("ck_challenge_scores_weighted_score")),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["challenge_applications.id"],
            name=op.f("fk_challenge_scores_application_id_challenge_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["challenge_id"], ["challenges.id"], name=op.f("fk_challenge_scores_challenge_id_challenges")
        ),
        sa.ForeignKeyConstraint(
            ["expert_user_id"], ["users.id"], name=op.f("fk_challenge_scores_expert_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenge_scores")),
        sa.UniqueConstraint("application_id", "expert_user_id", name="uq_challenge_scores_application_expert"),
    )
    op.create_index("ix_challenge_scores_challenge", "challenge_scores", ["challenge_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_challenge_scores_challenge", table_name="challenge_scores")
    op.drop_table("challenge_scores")
    op.drop_index("ix_challenge_objections_challenge_created", table_name="challenge_objections")
    op.drop_table("challenge_objections")
    op.drop_index("ix_challenge_money_movements_challenge", table_name="challenge_money_movements")
    op.drop_table("challenge_money_movements")
    op.drop_index(op.f("ix_challenge_conflicts_challenge_id"), table_name="challenge_conflicts")
    op.drop_table("challenge_conflicts")
    op.drop_table("challenge_subsidy_tranches")
    op.drop_table("challenge_milestones")
    op.drop_index(op.f("ix_challenge_experts_expert_user_id"), table_name="challenge_experts")
    op.drop_table("challenge_experts")
    op.drop_table("challenge_escrows")
    op.drop_constraint(
        op.f("fk_challenges_winner_application_id_challenge_applications"), "challenges", type_="foreignkey"
    )
    op.drop_index("ix_challenge_applications_org_created", table_name="challenge_applications")
    op.drop_table("challenge_applications")
    op.drop_index("ix_challenges_status_created", table_name="challenges")
    op.drop_index("ix_challenges_org_created", table_name="challenges")
    op.drop_index(
        "ix_challenges_open_deadline", table_name="challenges", postgresql_where=sa.text("status = 'published'")
    )
    op.drop_index(
        "ix_challenges_notice_end", table_name="challenges", postgresql_where=sa.text("status = 'public_notice'")
    )
    op.drop_table("challenges")
    op.drop_table("subsidy_programmes")
    op.drop_table("challenge_code_counters")
