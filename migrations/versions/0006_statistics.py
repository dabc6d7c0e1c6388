"""statistics

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 13:28:07.705936+00:00
"""

from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

from services.marketplace.statistics.indicators import seed_rows

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _seed_indicators() -> None:
    """The plan's indicators from the shipped copy of shared/data/targets.csv (targets as data, not code)."""
    indicators = sa.table(
        "stat_indicators",
        sa.column("code"),
        sa.column("name"),
        sa.column("unit"),
        sa.column("derivable"),
        sa.column("note"),
    )
    targets = sa.table(
        "stat_plan_targets",
        sa.column("indicator_code"),
        sa.column("plan_period"),
        sa.column("baseline_year"),
        sa.column("baseline_value"),
        sa.column("target_year"),
        sa.column("target_value"),
    )
    rows = seed_rows()
    op.bulk_insert(
        indicators,
        [
            {
                "code": row["indicator"],
                "name": row["name"],
                "unit": row["unit"],
                "derivable": row["derivable"] == "yes",
                "note": row["note"] or None,
            }
            for row in rows
        ],
    )
    op.bulk_insert(
        targets,
        [
            {
                "indicator_code": row["indicator"],
                "plan_period": row["plan_period"],
                "baseline_year": int(row["baseline_year"]) if row["baseline_year"] else None,
                "baseline_value": Decimal(row["baseline"]) if row["baseline"] else None,
                "target_year": int(row["target_year"]),
                "target_value": Decimal(row["target"]),
            }
            for row in rows
        ],
    )


def upgrade() -> None:
    op.create_table(
        "stat_contract_changes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("change_key", sa.String(length=80), nullable=False),
        sa.Column("contract_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("count_delta", sa.Integer(), nullable=False),
        sa.Column("contract_amount_delta_fen", sa.BigInteger(), nullable=False),
        sa.Column("technology_amount_delta_fen", sa.BigInteger(), nullable=False),
        sa.Column("contract_type", sa.String(length=16), nullable=False),
        sa.Column("field_code", sa.String(length=40), nullable=True),
        sa.Column("seller_region_code", sa.String(length=6), nullable=True),
        sa.Column("seller_country_code", sa.String(length=2), nullable=True),
        sa.Column("seller_legal_nature", sa.String(length=24), nullable=False),
        sa.Column("buyer_region_code", sa.String(length=6), nullable=True),
        sa.Column("buyer_country_code", sa.String(length=2), nullable=True),
        sa.Column("buyer_legal_nature", sa.String(length=24), nullable=False),
        sa.Column("local_conversion", sa.Boolean(), nullable=False),
        sa.Column("local_conversion_academic", sa.Boolean(), nullable=False),
        sa.Column("achievement_id", sa.UUID(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stat_contract_changes")),
        sa.UniqueConstraint("change_key", name=op.f("uq_stat_contract_changes_change_key")),
    )
    op.create_index(
        "ix_stat_contract_changes_buyer_region",
        "stat_contract_changes",
        ["buyer_region_code", "registered_on"],
        unique=False,
        postgresql_ops={"buyer_region_code": "varchar_pattern_ops"},
    )
    op.create_index("ix_stat_contract_changes_registered_on", "stat_contract_changes", ["registered_on"], unique=False)
    op.create_index(
        "ix_stat_contract_changes_seller_region",
        "stat_contract_changes",
        ["seller_region_code", "registered_on"],
        unique=False,
        postgresql_ops={"seller_region_code": "varchar_pattern_ops"},
    )
    op.create_table(
        "stat_indicators",
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("derivable", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_stat_indicators")),
    )
    op.create_table(
        "stat_rollups",
        sa.Column("scope", sa.String(length=6), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("measure", sa.String(length=16), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=False),
        sa.Column("contract_count", sa.BigInteger(), nullable=False),
        sa.Column("contract_amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("technology_amount_fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "scope", "year", "month", "measure", "dimension", "value", name=op.f("pk_stat_rollups")
        ),
    )
    op.create_table(
        "stat_plan_targets",
        sa.Column("indicator_code", sa.String(length=60), nullable=False),
        sa.Column("plan_period", sa.String(length=20), nullable=False),
        sa.Column("baseline_year", sa.Integer(), nullable=True),
        sa.Column("baseline_value", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("target_year", sa.Integer(), nullable=False),
        sa.Column("target_value", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.ForeignKeyConstraint(
            ["indicator_code"],
            ["stat_indicators.code"],
            name=op.f("fk_stat_plan_targets_indicator_code_stat_indicators"),
        ),
        sa.PrimaryKeyConstraint("indicator_code", "plan_period", name=op.f("pk_stat_plan_targets")),
    )
    op.create_table(
        "stat_yearly_targets",
        sa.Column("indicator_code", sa.String(length=60), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("target_value", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.ForeignKeyConstraint(
            ["indicator_code"],
            ["stat_indicators.code"],
            name=op.f("fk_stat_yearly_targets_indicator_code_stat_indicators"),
        ),
        sa.PrimaryKeyConstraint("indicator_code", "year", name=op.f("pk_stat_yearly_targets")),
    )
    op.create_table(
        "stat_indicator_values",
        sa.Column("indicator_code", sa.String(length=60), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("value", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("entered_by", sa.UUID(), nullable=True),
        sa.Column("entered_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["entered_by"], ["users.id"], name=op.f("fk_stat_indicator_values_entered_by_users")),
        sa.ForeignKeyConstraint(
            ["indicator_code"],
            ["stat_indicators.code"],
            name=op.f("fk_stat_indicator_values_indicator_code_stat_indicators"),
        ),
        sa.PrimaryKeyConstraint("indicator_code", "year", name=op.f("pk_stat_indicator_values")),
    )
    _seed_indicators()


def downgrade() -> None:
    op.drop_table("stat_indicator_values")
    op.drop_table("stat_yearly_targets")
    op.drop_table("stat_plan_targets")
    op.drop_table("stat_rollups")
    op.drop_table("stat_indicators")
    op.drop_index(
        "ix_stat_contract_changes_seller_region",
        table_name="stat_contract_changes",
        postgresql_ops={"seller_region_code": "varchar_pattern_ops"},
    )
    op.drop_index("ix_stat_contract_changes_registered_on", table_name="stat_contract_changes")
    op.drop_index(
        "ix_stat_contract_changes_buyer_region",
        table_name="stat_contract_changes",
        postgresql_ops={"buyer_region_code": "varchar_pattern_ops"},
    )
    op.drop_table("stat_contract_changes")
