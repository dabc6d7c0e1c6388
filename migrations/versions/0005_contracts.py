"""contracts: technology contracts, signatures, registered amendments, registration counters, brokers, deal rooms

``fen_total(jsonb)`` sums the ``amount_fen`` of a JSON list (cost lines, milestones) so that CHECK constraints
hold the amount rules: 技术交易额 = 合同成交额 − non-technical costs, and milestones sum to the contract amount.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 13:02:17.925753+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FEN_TOTAL_FUNCTION = """
CREATE FUNCTION fen_total(items jsonb) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT COALESCE(sum((item ->> 'amount_fen')::bigint), 0)::bigint FROM jsonb_array_elements(items) AS item $$
"""


def upgrade() -> None:
    op.execute(FEN_TOTAL_FUNCTION)
    op.create_table(
        "contract_registration_counters",
        sa.Column("registry_prefix", sa.String(length=4), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_serial", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "registry_prefix ~ '^[0-9]{4}$'", name=op.f("ck_contract_registration_counters_registry_prefix")
        ),
        sa.CheckConstraint(
            "last_serial BETWEEN 1 AND 99999999", name=op.f("ck_contract_registration_counters_last_serial")
        ),
        sa.CheckConstraint("year BETWEEN 2000 AND 9999", name=op.f("ck_contract_registration_counters_year")),
        sa.PrimaryKeyConstraint("registry_prefix", "year", name=op.f("pk_contract_registration_counters")),
    )
    op.create_table(
        "broker_profiles",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("certification_number", sa.String(length=64), nullable=False),
        sa.Column(
            "field_codes",
            postgresql.ARRAY(sa.String(length=40)),
            server_default=sa.text("'{}'::varchar[]"),
            nullable=False,
        ),
        sa.Column(
            "region_codes",
            postgresql.ARRAY(sa.String(length=6)),
            server_default=sa.text("'{}'::varchar[]"),
            nullable=False,
        ),
        sa.Column("bio", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_broker_profiles_organisation_id_organisations")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_broker_profiles_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_broker_profiles")),
        sa.UniqueConstraint("certification_number", name=op.f("uq_broker_profiles_certification_number")),
    )
    op.create_index(op.f("ix_broker_profiles_organisation_id"), "broker_profiles", ["organisation_id"], unique=False)
    op.create_table(
        "contracts",
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("status", sa.String(length=24), server_default="draft", nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("contract_type", sa.String(length=16), nullable=False),
        sa.Column("contract_subtype", sa.String(length=32), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("terms", sa.Text(), nullable=True),
        sa.Column("seller_organisation_id", sa.UUID(), nullable=True),
        sa.Column("seller_name", sa.String(length=200), nullable=False),
        sa.Column("seller_uscc", sa.String(length=18), nullable=True),
        sa.Column("seller_region_code", sa.String(length=6), nullable=True),
        sa.Column("seller_country_code", sa.String(length=2), nullable=True),
        sa.Column("seller_legal_nature", sa.String(length=24), nullable=False),
        sa.Column("buyer_organisation_id", sa.UUID(), nullable=True),
        sa.Column("buyer_name", sa.String(length=200), nullable=False),
        sa.Column("buyer_uscc", sa.String(length=18), nullable=True),
        sa.Column("buyer_region_code", sa.String(length=6), nullable=True),
        sa.Column("buyer_country_code", sa.String(length=2), nullable=True),
        sa.Column("buyer_legal_nature", sa.String(length=24), nullable=False),
        sa.Column("contract_amount_fen", sa.BigInteger(), nullable=False),
        sa.Column(
            "non_technical_costs",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("non_technical_amount_fen", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("technology_amount_fen", sa.BigInteger(), nullable=False),
        sa.Column(
            "milestones", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False
        ),
        sa.Column(
            "attachments",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("achievement_id", sa.UUID(), nullable=True),
        sa.Column("demand_id", sa.UUID(), nullable=True),
        sa.Column("field_code", sa.String(length=40), nullable=True),
        sa.Column("industry_code", sa.String(length=40), nullable=True),
        sa.Column("local_conversion", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("local_conversion_academic", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("broker_user_id", sa.UUID(), nullable=True),
        sa.Column("commission_mode", sa.String(length=8), nullable=True),
        sa.Column("commission_rate_bp", sa.Integer(), nullable=True),
        sa.Column("commission_fen", sa.BigInteger(), nullable=True),
        sa.Column("commission_payer", sa.String(length=8), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_on", sa.Date(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_by", sa.UUID(), nullable=True),
        sa.Column("registration_number", sa.String(length=16), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("registered_on", sa.Date(), nullable=True),
        sa.Column("registered_by", sa.UUID(), nullable=True),
        sa.Column("registered_contract_amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("registered_technology_amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rejected_by", sa.UUID(), nullable=True),
        sa.Column(
            "rejection_reasons",
            postgresql.ARRAY(sa.String(length=32)),
            server_default=sa.text("'{}'::varchar[]"),
            nullable=False,
        ),
        sa.Column("rejection_comment", sa.Text(), nullable=True),
        sa.Column("performance_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("buyer_country_code ~ '^[A-Z]{2}$'", name=op.f("ck_contracts_buyer_country_code")),
        sa.CheckConstraint(
            "buyer_legal_nature IN ('enterprise', 'university', 'research_institute', 'government', 'other')",
            name=op.f("ck_contracts_buyer_legal_nature"),
        ),
        sa.CheckConstraint("buyer_region_code ~ '^[0-9]{6}$'", name=op.f("ck_contracts_buyer_region_code")),
        sa.CheckConstraint(
            "commission_mode IS NULL AND commission_fen IS NULL AND commission_rate_bp IS NULL AND commission_payer IS NULL OR commission_mode = 'rate' AND commission_rate_bp BETWEEN 1 AND 10000 AND commission_fen IS NOT NULL AND commission_payer IS NOT NULL OR commission_mode = 'fixed' AND commission_rate_bp IS NULL AND commission_fen IS NOT NULL AND commission_payer IS NOT NULL",
            name=op.f("ck_contracts_commission_terms"),
        ),
        sa.CheckConstraint(
            "commission_mode IS NULL OR commission_mode IN ('rate', 'fixed')", name=op.f("ck_contracts_commission_mode")
        ),
        sa.CheckConstraint(
            "commission_payer IS NULL OR commission_payer IN ('seller', 'buyer')",
            name=op.f("ck_contracts_commission_payer"),
        ),
        sa.CheckConstraint(
            "contract_subtype IS NULL OR (contract_type = 'development' AND contract_subtype IN ('commissioned', 'cooperative')) OR (contract_type = 'transfer' AND contract_subtype IN ('patent_right', 'patent_application_right', 'technical_secret', 'other_ip')) OR (contract_type = 'license' AND contract_subtype IN ('patent_license', 'technical_secret_license', 'other_ip_license')) OR (contract_type = 'consulting' AND contract_subtype IS NULL) OR (contract_type = 'service' AND contract_subtype IN ('general', 'training', 'brokerage'))",
            name=op.f("ck_contracts_contract_subtype"),
        ),
        sa.CheckConstraint(
            "contract_type IN ('development', 'transfer', 'license', 'consulting', 'service')",
            name=op.f("ck_contracts_contract_type"),
        ),
        sa.CheckConstraint("registration_number ~ '^[0-9]{16}$'", name=op.f("ck_contracts_registration_number")),
        sa.CheckConstraint("seller_country_code ~ '^[A-Z]{2}$'", name=op.f("ck_contracts_seller_country_code")),
        sa.CheckConstraint(
            "seller_legal_nature IN ('enterprise', 'university', 'research_institute', 'government', 'other')",
            name=op.f("ck_contracts_seller_legal_nature"),
        ),
        sa.CheckConstraint("seller_region_code ~ '^[0-9]{6}$'", name=op.f("ck_contracts_seller_region_code")),
        sa.CheckConstraint(
            "status IN ('draft', 'awaiting_signatures', 'signed', 'submitted', 'registered', 'rejected', 'performing', 'completed', 'terminated', 'cancelled')",
            name=op.f("ck_contracts_status"),
        ),
        sa.CheckConstraint(
            "status NOT IN ('signed', 'submitted', 'registered', 'rejected', 'performing', 'completed', 'terminated') OR jsonb_array_length(milestones) > 0",
            name=op.f("ck_contracts_milestones_when_signed"),
        ),
        sa.CheckConstraint(
            "(buyer_region_code IS NULL) <> (buyer_country_code IS NULL)", name=op.f("ck_contracts_buyer_location")
        ),
        sa.CheckConstraint(
            "(registration_number IS NULL) = (registered_at IS NULL) AND (registered_at IS NULL) = (registered_on IS NULL) AND (registered_at IS NULL) = (registered_contract_amount_fen IS NULL) AND (registered_at IS NULL) = (registered_technology_amount_fen IS NULL)",
            name=op.f("ck_contracts_registration_complete"),
        ),
        sa.CheckConstraint(
            "(seller_region_code IS NULL) <> (seller_country_code IS NULL)", name=op.f("ck_contracts_seller_location")
        ),
        sa.CheckConstraint(
            "broker_user_id IS NOT NULL OR commission_mode IS NULL", name=op.f("ck_contracts_commission_needs_broker")
        ),
        sa.CheckConstraint(
            "commission_fen IS NULL OR commission_fen BETWEEN 0 AND contract_amount_fen",
            name=op.f("ck_contracts_commission"),
        ),
        sa.CheckConstraint("contract_amount_fen > 0", name=op.f("ck_contracts_contract_amount_positive")),
        sa.CheckConstraint(
            "jsonb_array_length(milestones) = 0 OR fen_total(milestones) = contract_amount_fen",
            name=op.f("ck_contracts_milestones_sum"),
        ),
        sa.CheckConstraint(
            "local_conversion OR NOT local_conversion_academic", name=op.f("ck_contracts_local_conversion_academic")
        ),
        sa.CheckConstraint(
            "non_technical_amount_fen = fen_total(non_technical_costs)", name=op.f("ck_contracts_non_technical_total")
        ),
        sa.CheckConstraint(
            "seller_organisation_id <> buyer_organisation_id", name=op.f("ck_contracts_distinct_parties")
        ),
        sa.CheckConstraint(
            "seller_organisation_id IS NOT NULL OR buyer_organisation_id IS NOT NULL",
            name=op.f("ck_contracts_platform_party"),
        ),
        sa.CheckConstraint(
            "technology_amount_fen = contract_amount_fen - non_technical_amount_fen",
            name=op.f("ck_contracts_technology_amount"),
        ),
        sa.CheckConstraint("technology_amount_fen >= 0", name=op.f("ck_contracts_technology_amount_non_negative")),
        sa.CheckConstraint(
            "valid_until IS NULL OR valid_from IS NULL OR valid_until >= valid_from", name=op.f("ck_contracts_validity")
        ),
        sa.ForeignKeyConstraint(
            ["achievement_id"], ["achievements.id"], name=op.f("fk_contracts_achievement_id_achievements")
        ),
        sa.ForeignKeyConstraint(["broker_user_id"], ["users.id"], name=op.f("fk_contracts_broker_user_id_users")),
        sa.ForeignKeyConstraint(
            ["buyer_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_contracts_buyer_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_contracts_created_by_users")),
        sa.ForeignKeyConstraint(["demand_id"], ["demands.id"], name=op.f("fk_contracts_demand_id_demands")),
        sa.ForeignKeyConstraint(["registered_by"], ["users.id"], name=op.f("fk_contracts_registered_by_users")),
        sa.ForeignKeyConstraint(["rejected_by"], ["users.id"], name=op.f("fk_contracts_rejected_by_users")),
        sa.ForeignKeyConstraint(
            ["seller_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_contracts_seller_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(["submitted_by"], ["users.id"], name=op.f("fk_contracts_submitted_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracts")),
        sa.UniqueConstraint("registration_number", name=op.f("uq_contracts_registration_number")),
    )
    op.create_index(op.f("ix_contracts_achievement_id"), "contracts", ["achievement_id"], unique=False)
    op.create_index("ix_contracts_broker_created", "contracts", ["broker_user_id", "created_at", "id"], unique=False)
    op.create_index(
        "ix_contracts_buyer_created", "contracts", ["buyer_organisation_id", "created_at", "id"], unique=False
    )
    op.create_index(op.f("ix_contracts_demand_id"), "contracts", ["demand_id"], unique=False)
    op.create_index(
        "ix_contracts_registered_at",
        "contracts",
        ["registered_at"],
        unique=False,
        postgresql_where=sa.text("registered_at IS NOT NULL"),
    )
    op.create_index(
        "ix_contracts_seller_created", "contracts", ["seller_organisation_id", "created_at", "id"], unique=False
    )
    op.create_index("ix_contracts_status_created", "contracts", ["status", "created_at", "id"], unique=False)
    op.create_table(
        "contract_amendments",
        sa.Column("contract_id", sa.UUID(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("contract_amount_fen_before", sa.BigInteger(), nullable=False),
        sa.Column("technology_amount_fen_before", sa.BigInteger(), nullable=False),
        sa.Column("contract_amount_fen_after", sa.BigInteger(), nullable=False),
        sa.Column("technology_amount_fen_after", sa.BigInteger(), nullable=False),
        sa.Column("contract_amount_delta_fen", sa.BigInteger(), nullable=False),
        sa.Column("technology_amount_delta_fen", sa.BigInteger(), nullable=False),
        sa.Column("non_technical_costs", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("milestones", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("proposed_by_side", sa.String(length=8), nullable=False),
        sa.Column("proposed_by", sa.UUID(), nullable=False),
        sa.Column("counterparty_signed_offline", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("confirmed_by", sa.UUID(), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("registered_on", sa.Date(), nullable=True),
        sa.Column("registered_by", sa.UUID(), nullable=True),
        sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rejected_by", sa.UUID(), nullable=True),
        sa.Column("rejection_comment", sa.Text(), nullable=True),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "(status = 'registered') = (registered_at IS NOT NULL) AND (registered_at IS NULL) = (registered_on IS NULL)",
            name=op.f("ck_contract_amendments_registration_complete"),
        ),
        sa.CheckConstraint(
            "kind <> 'termination' OR (contract_amount_delta_fen <= 0 AND technology_amount_delta_fen <= 0)",
            name=op.f("ck_contract_amendments_termination_reduces"),
        ),
        sa.CheckConstraint("kind IN ('amount_change', 'termination')", name=op.f("ck_contract_amendments_kind")),
        sa.CheckConstraint(
            "proposed_by_side IN ('seller', 'buyer')", name=op.f("ck_contract_amendments_proposed_by_side")
        ),
        sa.CheckConstraint(
            "status IN ('proposed', 'submitted', 'registered', 'rejected', 'withdrawn')",
            name=op.f("ck_contract_amendments_status"),
        ),
        sa.CheckConstraint(
            "contract_amount_delta_fen = contract_amount_fen_after - contract_amount_fen_before",
            name=op.f("ck_contract_amendments_contract_delta"),
        ),
        sa.CheckConstraint(
            "contract_amount_fen_after > 0", name=op.f("ck_contract_amendments_contract_amount_positive")
        ),
        sa.CheckConstraint(
            "fen_total(milestones) = contract_amount_fen_after", name=op.f("ck_contract_amendments_milestones_sum")
        ),
        sa.CheckConstraint(
            "technology_amount_delta_fen = technology_amount_fen_after - technology_amount_fen_before",
            name=op.f("ck_contract_amendments_technology_delta"),
        ),
        sa.CheckConstraint(
            "technology_amount_fen_after BETWEEN 0 AND contract_amount_fen_after",
            name=op.f("ck_contract_amendments_technology_amount"),
        ),
        sa.ForeignKeyConstraint(["confirmed_by"], ["users.id"], name=op.f("fk_contract_amendments_confirmed_by_users")),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_contract_amendments_contract_id_contracts")
        ),
        sa.ForeignKeyConstraint(["proposed_by"], ["users.id"], name=op.f("fk_contract_amendments_proposed_by_users")),
        sa.ForeignKeyConstraint(
            ["registered_by"], ["users.id"], name=op.f("fk_contract_amendments_registered_by_users")
        ),
        sa.ForeignKeyConstraint(["rejected_by"], ["users.id"], name=op.f("fk_contract_amendments_rejected_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_amendments")),
        sa.UniqueConstraint("contract_id", "sequence", name="uq_contract_amendments_contract_id_sequence"),
    )
    op.create_index(
        "ix_contract_amendments_registered_at",
        "contract_amendments",
        ["registered_at"],
        unique=False,
        postgresql_where=sa.text("registered_at IS NOT NULL"),
    )
    op.create_index(
        "uq_contract_amendments_open",
        "contract_amendments",
        ["contract_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('proposed', 'submitted')"),
    )
    op.create_table(
        "contract_signatures",
        sa.Column("contract_id", sa.UUID(), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("offline", sa.Boolean(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.CheckConstraint("side IN ('seller', 'buyer')", name=op.f("ck_contract_signatures_side")),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_contract_signatures_contract_id_contracts")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_contract_signatures_organisation_id_organisations")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_contract_signatures_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_signatures")),
        sa.UniqueConstraint("contract_id", "side", "version", name="uq_contract_signatures_side_version"),
    )
    op.create_table(
        "deal_rooms",
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("seller_organisation_id", sa.UUID(), nullable=False),
        sa.Column("buyer_organisation_id", sa.UUID(), nullable=False),
        sa.Column("achievement_id", sa.UUID(), nullable=True),
        sa.Column("demand_id", sa.UUID(), nullable=True),
        sa.Column("status", sa.String(length=8), server_default="open", nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("contract_id", sa.UUID(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_deal_rooms_status")),
        sa.CheckConstraint(
            "seller_organisation_id <> buyer_organisation_id", name=op.f("ck_deal_rooms_distinct_parties")
        ),
        sa.ForeignKeyConstraint(
            ["achievement_id"], ["achievements.id"], name=op.f("fk_deal_rooms_achievement_id_achievements")
        ),
        sa.ForeignKeyConstraint(
            ["buyer_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_deal_rooms_buyer_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(["contract_id"], ["contracts.id"], name=op.f("fk_deal_rooms_contract_id_contracts")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_deal_rooms_created_by_users")),
        sa.ForeignKeyConstraint(["demand_id"], ["demands.id"], name=op.f("fk_deal_rooms_demand_id_demands")),
        sa.ForeignKeyConstraint(
            ["seller_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_deal_rooms_seller_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_rooms")),
    )
    op.create_index(
        "ix_deal_rooms_buyer_created", "deal_rooms", ["buyer_organisation_id", "created_at", "id"], unique=False
    )
    op.create_index(
        "ix_deal_rooms_seller_created", "deal_rooms", ["seller_organisation_id", "created_at", "id"], unique=False
    )
    op.create_table(
        "deal_room_brokers",
        sa.Column("room_id", sa.UUID(), nullable=False),
        sa.Column("broker_user_id", sa.UUID(), nullable=False),
        sa.Column("invited_by", sa.UUID(), nullable=True),
        sa.Column("invited_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["broker_user_id"], ["users.id"], name=op.f("fk_deal_room_brokers_broker_user_id_users")
        ),
        sa.ForeignKeyConstraint(["invited_by"], ["users.id"], name=op.f("fk_deal_room_brokers_invited_by_users")),
        sa.ForeignKeyConstraint(["room_id"], ["deal_rooms.id"], name=op.f("fk_deal_room_brokers_room_id_deal_rooms")),
        sa.PrimaryKeyConstraint("room_id", "broker_user_id", name=op.f("pk_deal_room_brokers")),
    )
    op.create_index(op.f("ix_deal_room_brokers_broker_user_id"), "deal_room_brokers", ["broker_user_id"], unique=False)
    op.create_table(
        "deal_room_messages",
        sa.Column("room_id", sa.UUID(), nullable=False),
        sa.Column("author_user_id", sa.UUID(), nullable=True),
        sa.Column("author_organisation_id", sa.UUID(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "attachments",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("clock_timestamp()"), nullable=False
        ),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_deal_room_messages_author_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["author_user_id"], ["users.id"], name=op.f("fk_deal_room_messages_author_user_id_users")
        ),
        sa.ForeignKeyConstraint(["room_id"], ["deal_rooms.id"], name=op.f("fk_deal_room_messages_room_id_deal_rooms")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_room_messages")),
    )
    op.create_index(
        "ix_deal_room_messages_room_created", "deal_room_messages", ["room_id", "created_at", "id"], unique=False
    )
    op.create_table(
        "deal_room_offers",
        sa.Column("room_id", sa.UUID(), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("made_by", sa.UUID(), nullable=True),
        sa.Column("counter_to_offer_id", sa.UUID(), nullable=True),
        sa.Column("price_fen", sa.BigInteger(), nullable=False),
        sa.Column("transfer_mode", sa.String(length=20), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), server_default="open", nullable=False),
        sa.Column("decided_by", sa.UUID(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("clock_timestamp()"), nullable=False
        ),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.CheckConstraint("side IN ('seller', 'buyer')", name=op.f("ck_deal_room_offers_side")),
        sa.CheckConstraint(
            "status IN ('open', 'countered', 'superseded', 'accepted', 'declined', 'withdrawn')",
            name=op.f("ck_deal_room_offers_status"),
        ),
        sa.CheckConstraint(
            "transfer_mode IN ('transfer', 'license', 'equity', 'co_development', 'service', 'consulting')",
            name=op.f("ck_deal_room_offers_transfer_mode"),
        ),
        sa.CheckConstraint("price_fen > 0", name=op.f("ck_deal_room_offers_price_positive")),
        sa.ForeignKeyConstraint(
            ["counter_to_offer_id"],
            ["deal_room_offers.id"],
            name=op.f("fk_deal_room_offers_counter_to_offer_id_deal_room_offers"),
        ),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], name=op.f("fk_deal_room_offers_decided_by_users")),
        sa.ForeignKeyConstraint(["made_by"], ["users.id"], name=op.f("fk_deal_room_offers_made_by_users")),
        sa.ForeignKeyConstraint(["room_id"], ["deal_rooms.id"], name=op.f("fk_deal_room_offers_room_id_deal_rooms")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_room_offers")),
    )
    op.create_index(
        "ix_deal_room_offers_room_created", "deal_room_offers", ["room_id", "created_at", "id"], unique=False
    )
    op.create_index(
        "uq_deal_room_offers_open",
        "deal_room_offers",
        ["room_id"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_deal_room_offers_open", table_name="deal_room_offers", postgresql_where=sa.text("status = 'open'")
    )
    op.drop_index("ix_deal_room_offers_room_created", table_name="deal_room_offers")
    op.drop_table("deal_room_offers")
    op.drop_index("ix_deal_room_messages_room_created", table_name="deal_room_messages")
    op.drop_table("deal_room_messages")
    op.drop_index(op.f("ix_deal_room_brokers_broker_user_id"), table_name="deal_room_brokers")
    op.drop_table("deal_room_brokers")
    op.drop_index("ix_deal_rooms_seller_created", table_name="deal_rooms")
    op.drop_index("ix_deal_rooms_buyer_created", table_name="deal_rooms")
    op.drop_table("deal_rooms")
    op.drop_table("contract_signatures")
    op.drop_index(
        "uq_contract_amendments_open",
        table_name="contract_amendments",
        postgresql_where=sa.text("status IN ('proposed', 'submitted')"),
    )
    op.drop_index(
        "ix_contract_amendments_registered_at",
        table_name="contract_amendments",
        postgresql_where=sa.text("registered_at IS NOT NULL"),
    )
    op.drop_table("contract_amendments")
    op.drop_index("ix_contracts_status_created", table_name="contracts")
    op.drop_index("ix_contracts_seller_created", table_name="contracts")
    op.drop_index(
        "ix_contracts_registered_at", table_name="contracts", postgresql_where=sa.text("registered_at IS NOT NULL")
    )
    op.drop_index(op.f("ix_contracts_demand_id"), table_name="contracts")
    op.drop_index("ix_contracts_buyer_created", table_name="contracts")
    op.drop_index("ix_contracts_broker_created", table_name="contracts")
    op.drop_index(op.f("ix_contracts_achievement_id"), table_name="contracts")
    op.drop_table("contracts")
    op.drop_index(op.f("ix_broker_profiles_organisation_id"), table_name="broker_profiles")
    op.drop_table("broker_profiles")
    op.drop_table("contract_registration_counters")
    op.execute("DROP FUNCTION fen_total(jsonb)")
