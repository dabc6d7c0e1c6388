"""settlement: the double-entry ledger, payments, escrowed milestones, payouts, vouchers, government payables

The ledger's rules are held by the database, not only by the code:
- ``ledger_check_entry_balanced()`` runs as a deferred constraint trigger on entries and postings: at commit,
  every entry touched has two or more postings and its postings sum to zero per currency;
- ledger entries and postings are append-only (``refuse_changes()`` of 0001): corrections are reversing entries;
- balance rows of non-negative accounts (escrow, payables, funds) keep balance >= held >= 0 (CHECK);
- ``ledger_pending_resolves_once()`` refuses any change to a pending entry once it is posted, voided or expired,
  and refuses deleting one.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 13:36:45.678723+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BALANCED_FUNCTION = """
CREATE FUNCTION ledger_check_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    checked_entry bigint;
    legs integer;
    unbalanced text;
BEGIN
    IF TG_TABLE_NAME = 'ledger_entries' THEN
        checked_entry := NEW.id;
    ELSE
        checked_entry := NEW.entry_id;
    END IF;
    SELECT count(*) INTO legs FROM ledger_postings WHERE entry_id = checked_entry;
    IF legs < 2 THEN
        RAISE EXCEPTION 'ledger entry % has % posting(s): an entry needs two or more', checked_entry, legs
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT string_agg(currency || ' ' || total, ', ') INTO unbalanced
    FROM (
        SELECT currency, sum(amount_fen) AS total FROM ledger_postings WHERE entry_id = checked_entry
        GROUP BY currency HAVING sum(amount_fen) <> 0
    ) AS per_currency;
    IF unbalanced IS NOT NULL THEN
        RAISE EXCEPTION 'ledger entry % does not balance: %', checked_entry, unbalanced
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$
"""

RESOLVES_ONCE_FUNCTION = """
CREATE FUNCTION ledger_pending_resolves_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'ledger_pending_entries are kept: DELETE refused' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.status <> 'pending' THEN
        RAISE EXCEPTION 'pending entry % is already %: it resolves at most once', OLD.id, OLD.status
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.amount_fen <> OLD.amount_fen OR NEW.debit_account_id <> OLD.debit_account_id
            OR NEW.currency <> OLD.currency OR NEW.reference <> OLD.reference THEN
        RAISE EXCEPTION 'pending entry %: its amount, account, currency and reference are fixed', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$
"""

APPEND_ONLY_TABLES = ("ledger_entries", "ledger_postings")


def _ledger_rules() -> None:
    op.execute(BALANCED_FUNCTION)
    for table in APPEND_ONLY_TABLES:
        op.execute(
            f"CREATE CONSTRAINT TRIGGER {table}_balanced AFTER INSERT ON {table} "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_entry_balanced()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_changes()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION refuse_changes()"
        )
    op.execute(RESOLVES_ONCE_FUNCTION)
    op.execute(
        "CREATE TRIGGER ledger_pending_entries_resolve_once BEFORE UPDATE OR DELETE ON ledger_pending_entries "
        "FOR EACH ROW EXECUTE FUNCTION ledger_pending_resolves_once()"
    )


def upgrade() -> None:
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("reference", sa.String(length=160), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("memo", sa.Text(), nullable=True),
        sa.Column("reverses_entry_id", sa.BigInteger(), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("clock_timestamp()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["reverses_entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_ledger_entries_reverses_entry_id_ledger_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
        sa.UniqueConstraint("reference", name=op.f("uq_ledger_entries_reference")),
        sa.UniqueConstraint("reverses_entry_id", name=op.f("uq_ledger_entries_reverses_entry_id")),
    )
    op.create_index("ix_ledger_entries_created_at", "ledger_entries", ["created_at"], unique=False)
    op.create_table(
        "stripe_inbox_events",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("stripe_created", sa.BigInteger(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_inbox_events")),
    )
    op.create_index(
        "ix_stripe_inbox_events_unprocessed",
        "stripe_inbox_events",
        ["received_at"],
        unique=False,
        postgresql_where=sa.text("processed_at IS NULL"),
    )
    op.create_table(
        "government_payables",
        sa.Column("reference", sa.String(length=160), nullable=False),
        sa.Column("government_organisation_id", sa.UUID(), nullable=False),
        sa.Column("payee_organisation_id", sa.UUID(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=8), server_default="open", nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("paid_entry_id", sa.BigInteger(), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "(status = 'paid') = (paid_entry_id IS NOT NULL)", name=op.f("ck_government_payables_paid_entry")
        ),
        sa.CheckConstraint("status IN ('open', 'paid')", name=op.f("ck_government_payables_status")),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_government_payables_amount_positive")),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["ledger_entries.id"], name=op.f("fk_government_payables_entry_id_ledger_entries")
        ),
        sa.ForeignKeyConstraint(
            ["government_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_government_payables_government_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["paid_entry_id"], ["ledger_entries.id"], name=op.f("fk_government_payables_paid_entry_id_ledger_entries")
        ),
        sa.ForeignKeyConstraint(
            ["payee_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_government_payables_payee_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_government_payables")),
        sa.UniqueConstraint("reference", name=op.f("uq_government_payables_reference")),
    )
    op.create_index(
        "ix_government_payables_government_created",
        "government_payables",
        ["government_organisation_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "ledger_accounts",
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("organisation_id", sa.UUID(), nullable=True),
        sa.Column("currency", sa.String(length=3), server_default="CNY", nullable=False),
        sa.Column("normal_side", sa.String(length=6), nullable=False),
        sa.Column("non_negative", sa.Boolean(), nullable=False),
        sa.Column("shards", sa.SmallInteger(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.CheckConstraint(
            "(normal_side = 'debit') = (kind IN ('bank_clearing', 'receivable', 'stripe_clearing'))",
            name=op.f("ck_ledger_accounts_normal_side_of_kind"),
        ),
        sa.CheckConstraint(
            "(organisation_id IS NULL) = (kind IN ('bank_clearing', 'commissions_payable', 'fee_income', 'stripe_clearing'))",
            name=op.f("ck_ledger_accounts_owner"),
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_ledger_accounts_currency")),
        sa.CheckConstraint(
            "kind IN ('receivable', 'payable', 'escrow', 'bank_clearing', 'stripe_clearing', 'fee_income', 'commissions_payable', 'subsidies_payable', 'voucher_fund')",
            name=op.f("ck_ledger_accounts_kind"),
        ),
        sa.CheckConstraint(
            "non_negative = (kind IN ('commissions_payable', 'escrow', 'payable', 'subsidies_payable', 'voucher_fund'))",
            name=op.f("ck_ledger_accounts_non_negative"),
        ),
        sa.CheckConstraint("normal_side IN ('debit', 'credit')", name=op.f("ck_ledger_accounts_normal_side")),
        sa.CheckConstraint("shards BETWEEN 1 AND 64", name=op.f("ck_ledger_accounts_shards")),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_ledger_accounts_organisation_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
        sa.UniqueConstraint("id", "currency", name="uq_ledger_accounts_id_currency"),
    )
    op.create_index(
        "uq_ledger_accounts_organisation_kind",
        "ledger_accounts",
        ["organisation_id", "kind", "currency"],
        unique=True,
        postgresql_where=sa.text("organisation_id IS NOT NULL"),
    )
    op.create_index(
        "uq_ledger_accounts_platform_kind",
        "ledger_accounts",
        ["kind", "currency"],
        unique=True,
        postgresql_where=sa.text("organisation_id IS NULL"),
    )
    op.create_table(
        "bank_statement_imports",
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("imported_by", sa.UUID(), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("total_lines", sa.Integer(), nullable=False),
        sa.Column("new_lines", sa.Integer(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["imported_by"], ["users.id"], name=op.f("fk_bank_statement_imports_imported_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_statement_imports")),
    )
    op.create_table(
        "ledger_balances",
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("non_negative", sa.Boolean(), nullable=False),
        sa.Column("balance_fen", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("held_fen", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.CheckConstraint(
            "NOT non_negative OR balance_fen >= held_fen", name=op.f("ck_ledger_balances_balance_covers_holds")
        ),
        sa.CheckConstraint("held_fen >= 0", name=op.f("ck_ledger_balances_held_non_negative")),
        sa.CheckConstraint("non_negative OR held_fen = 0", name=op.f("ck_ledger_balances_holds_on_non_negative_only")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["ledger_accounts.id"], name=op.f("fk_ledger_balances_account_id_ledger_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", "shard", name=op.f("pk_ledger_balances")),
    )
    op.create_table(
        "ledger_pending_entries",
        sa.Column("reference", sa.String(length=160), nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("debit_account_id", sa.UUID(), nullable=False),
        sa.Column("credit_account_id", sa.UUID(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=8), server_default="pending", nullable=False),
        sa.Column("posted_fen", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_entry_id", sa.BigInteger(), nullable=True),
        sa.Column("predecessor_id", sa.UUID(), nullable=True),
        sa.Column(
            "details", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.CheckConstraint(
            "(status = 'pending') = (resolved_at IS NULL)", name=op.f("ck_ledger_pending_entries_resolution_time")
        ),
        sa.CheckConstraint(
            "(status = 'posted') = (resolution_entry_id IS NOT NULL)",
            name=op.f("ck_ledger_pending_entries_posted_entry"),
        ),
        sa.CheckConstraint(
            "status = 'posted' OR posted_fen = 0", name=op.f("ck_ledger_pending_entries_posted_only_when_posted")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'posted', 'voided', 'expired')", name=op.f("ck_ledger_pending_entries_status")
        ),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_ledger_pending_entries_amount_positive")),
        sa.CheckConstraint(
            "credit_account_id IS NULL OR credit_account_id <> debit_account_id",
            name=op.f("ck_ledger_pending_entries_distinct"),
        ),
        sa.CheckConstraint(
            "posted_fen BETWEEN 0 AND amount_fen", name=op.f("ck_ledger_pending_entries_posted_within_amount")
        ),
        sa.ForeignKeyConstraint(
            ["credit_account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_pending_entries_credit_account_id_ledger_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["debit_account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_pending_entries_debit_account_id_ledger_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["predecessor_id"],
            ["ledger_pending_entries.id"],
            name=op.f("fk_ledger_pending_entries_predecessor_id_ledger_pending_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["resolution_entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_ledger_pending_entries_resolution_entry_id_ledger_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_pending_entries")),
        sa.UniqueConstraint("predecessor_id", name=op.f("uq_ledger_pending_entries_predecessor_id")),
        sa.UniqueConstraint("reference", name=op.f("uq_ledger_pending_entries_reference")),
    )
    op.create_index(
        "ix_ledger_pending_entries_debit_account",
        "ledger_pending_entries",
        ["debit_account_id", "status"],
        unique=False,
    )
    op.create_index(
        "ix_ledger_pending_entries_due",
        "ledger_pending_entries",
        ["expires_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "ledger_postings",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount_fen <> 0", name=op.f("ck_ledger_postings_amount_non_zero")),
        sa.ForeignKeyConstraint(
            ["account_id", "currency"],
            ["ledger_accounts.id", "ledger_accounts.currency"],
            name="fk_ledger_postings_account_currency",
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["ledger_entries.id"], name=op.f("fk_ledger_postings_entry_id_ledger_entries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_postings")),
    )
    op.create_index("ix_ledger_postings_account_id_id", "ledger_postings", ["account_id", "id"], unique=False)
    op.create_index("ix_ledger_postings_entry_id", "ledger_postings", ["entry_id"], unique=False)
    op.create_table(
        "settlement_payouts",
        sa.Column("rail", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("organisation_id", sa.UUID(), nullable=False),
        sa.Column("broker_user_id", sa.UUID(), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), server_default="CNY", nullable=False),
        sa.Column("status", sa.String(length=8), server_default="pending", nullable=False),
        sa.Column("stripe_account_id", sa.String(length=255), nullable=True),
        sa.Column("stripe_transfer_id", sa.String(length=255), nullable=True),
        sa.Column("bank_reference", sa.String(length=64), nullable=True),
        sa.Column("failure_message", sa.Text(), nullable=True),
        sa.Column("entry_id", sa.BigInteger(), nullable=True),
        sa.Column("requested_by", sa.UUID(), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "(source = 'commissions') = (broker_user_id IS NOT NULL)", name=op.f("ck_settlement_payouts_broker")
        ),
        sa.CheckConstraint("(status = 'paid') = (paid_at IS NOT NULL)", name=op.f("ck_settlement_payouts_paid_at")),
        sa.CheckConstraint(
            "rail = 'bank_transfer' OR stripe_account_id IS NOT NULL",
            name=op.f("ck_settlement_payouts_stripe_destination"),
        ),
        sa.CheckConstraint("rail IN ('bank_transfer', 'stripe')", name=op.f("ck_settlement_payouts_rail")),
        sa.CheckConstraint("source IN ('payable', 'commissions')", name=op.f("ck_settlement_payouts_source")),
        sa.CheckConstraint("status = 'pending' OR entry_id IS NOT NULL", name=op.f("ck_settlement_payouts_posted")),
        sa.CheckConstraint("status IN ('pending', 'paid', 'failed')", name=op.f("ck_settlement_payouts_status")),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_settlement_payouts_amount_positive")),
        sa.ForeignKeyConstraint(
            ["broker_user_id"], ["users.id"], name=op.f("fk_settlement_payouts_broker_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["ledger_entries.id"], name=op.f("fk_settlement_payouts_entry_id_ledger_entries")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_settlement_payouts_organisation_id_organisations")
        ),
        sa.ForeignKeyConstraint(["requested_by"], ["users.id"], name=op.f("fk_settlement_payouts_requested_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_payouts")),
        sa.UniqueConstraint("stripe_transfer_id", name=op.f("uq_settlement_payouts_stripe_transfer_id")),
    )
    op.create_index(
        "ix_settlement_payouts_organisation_created",
        "settlement_payouts",
        ["organisation_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "innovation_vouchers",
        sa.Column("government_organisation_id", sa.UUID(), nullable=False),
        sa.Column("holder_organisation_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("budget_fen", sa.BigInteger(), nullable=False),
        sa.Column("committed_fen", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("paid_fen", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=8), server_default="active", nullable=False),
        sa.Column("hold_id", sa.UUID(), nullable=True),
        sa.Column("issued_by", sa.UUID(), nullable=True),
        sa.Column("expired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status IN ('active', 'expired')", name=op.f("ck_innovation_vouchers_status")),
        sa.CheckConstraint("budget_fen > 0", name=op.f("ck_innovation_vouchers_budget_positive")),
        sa.CheckConstraint(
            "committed_fen BETWEEN 0 AND budget_fen", name=op.f("ck_innovation_vouchers_committed_within_budget")
        ),
        sa.CheckConstraint(
            "paid_fen BETWEEN 0 AND committed_fen", name=op.f("ck_innovation_vouchers_paid_within_committed")
        ),
        sa.CheckConstraint("valid_until >= valid_from", name=op.f("ck_innovation_vouchers_validity")),
        sa.ForeignKeyConstraint(
            ["government_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_innovation_vouchers_government_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["hold_id"],
            ["ledger_pending_entries.id"],
            name=op.f("fk_innovation_vouchers_hold_id_ledger_pending_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["holder_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_innovation_vouchers_holder_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(["issued_by"], ["users.id"], name=op.f("fk_innovation_vouchers_issued_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_innovation_vouchers")),
    )
    op.create_index(
        "ix_innovation_vouchers_due",
        "innovation_vouchers",
        ["valid_until"],
        unique=False,
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_index(
        "ix_innovation_vouchers_government_created",
        "innovation_vouchers",
        ["government_organisation_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_innovation_vouchers_holder_created",
        "innovation_vouchers",
        ["holder_organisation_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "settlement_milestones",
        sa.Column("contract_id", sa.UUID(), nullable=False),
        sa.Column("milestone_index", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("payer_organisation_id", sa.UUID(), nullable=False),
        sa.Column("payee_organisation_id", sa.UUID(), nullable=False),
        sa.Column("broker_user_id", sa.UUID(), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("commission_fen", sa.BigInteger(), nullable=False),
        sa.Column("gross_fen", sa.BigInteger(), nullable=False),
        sa.Column("funded_fen", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("status", sa.String(length=12), server_default="open", nullable=False),
        sa.Column("fee_bp", sa.Integer(), nullable=True),
        sa.Column("fee_fen", sa.BigInteger(), nullable=True),
        sa.Column("payee_fen", sa.BigInteger(), nullable=True),
        sa.Column("accepted_by", sa.UUID(), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("release_entry_id", sa.BigInteger(), nullable=True),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "(status = 'released') = (release_entry_id IS NOT NULL AND fee_fen IS NOT NULL AND payee_fen IS NOT NULL)",
            name=op.f("ck_settlement_milestones_release_recorded"),
        ),
        sa.CheckConstraint(
            "status = 'open' OR funded_fen = gross_fen", name=op.f("ck_settlement_milestones_funded_in_full")
        ),
        sa.CheckConstraint("status IN ('open', 'funded', 'released')", name=op.f("ck_settlement_milestones_status")),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_settlement_milestones_amount_positive")),
        sa.CheckConstraint("commission_fen >= 0", name=op.f("ck_settlement_milestones_commission_non_negative")),
        sa.CheckConstraint(
            "funded_fen BETWEEN 0 AND gross_fen", name=op.f("ck_settlement_milestones_funded_within_gross")
        ),
        sa.CheckConstraint(
            "payee_fen IS NULL OR payee_fen + fee_fen + commission_fen = gross_fen",
            name=op.f("ck_settlement_milestones_split_exact"),
        ),
        sa.ForeignKeyConstraint(["accepted_by"], ["users.id"], name=op.f("fk_settlement_milestones_accepted_by_users")),
        sa.ForeignKeyConstraint(
            ["broker_user_id"], ["users.id"], name=op.f("fk_settlement_milestones_broker_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_settlement_milestones_contract_id_contracts")
        ),
        sa.ForeignKeyConstraint(
            ["payee_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_settlement_milestones_payee_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["payer_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_settlement_milestones_payer_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["release_entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_settlement_milestones_release_entry_id_ledger_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_milestones")),
        sa.UniqueConstraint("contract_id", "milestone_index", name="uq_settlement_milestones_contract_index"),
    )
    op.create_table(
        "voucher_redemptions",
        sa.Column("voucher_id", sa.UUID(), nullable=False),
        sa.Column("contract_id", sa.UUID(), nullable=False),
        sa.Column("provider_organisation_id", sa.UUID(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="committed", nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("accepted_by", sa.UUID(), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("entry_id", sa.BigInteger(), nullable=True),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "(status = 'paid') = (entry_id IS NOT NULL)", name=op.f("ck_voucher_redemptions_paid_entry")
        ),
        sa.CheckConstraint("status IN ('committed', 'paid', 'cancelled')", name=op.f("ck_voucher_redemptions_status")),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_voucher_redemptions_amount_positive")),
        sa.ForeignKeyConstraint(["accepted_by"], ["users.id"], name=op.f("fk_voucher_redemptions_accepted_by_users")),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_voucher_redemptions_contract_id_contracts")
        ),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_voucher_redemptions_created_by_users")),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["ledger_entries.id"], name=op.f("fk_voucher_redemptions_entry_id_ledger_entries")
        ),
        sa.ForeignKeyConstraint(
            ["provider_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_voucher_redemptions_provider_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["voucher_id"],
            ["innovation_vouchers.id"],
            name=op.f("fk_voucher_redemptions_voucher_id_innovation_vouchers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voucher_redemptions")),
    )
    op.create_index("ix_voucher_redemptions_voucher_id", "voucher_redemptions", ["voucher_id"], unique=False)
    op.create_index(
        "uq_voucher_redemptions_open_contract",
        "voucher_redemptions",
        ["voucher_id", "contract_id"],
        unique=True,
        postgresql_where=sa.text("status = 'committed'"),
    )
    op.create_table(
        "settlement_payments",
        sa.Column("rail", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="pending", nullable=False),
        sa.Column("payer_organisation_id", sa.UUID(), nullable=False),
        sa.Column("milestone_id", sa.UUID(), nullable=True),
        sa.Column("government_payable_id", sa.UUID(), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), server_default="CNY", nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("refunded_fen", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("reported_refunded_fen", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("refund_posted_fen", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("bank_reference", sa.String(length=64), nullable=True),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("stripe_payment_intent_id", sa.String(length=255), nullable=True),
        sa.Column("failure_message", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.UUID(), nullable=True),
        sa.Column("confirmed_by", sa.UUID(), nullable=True),
        sa.Column("confirmed_via", sa.String(length=24), nullable=True),
        sa.Column("succeeded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("capture_entry_id", sa.BigInteger(), nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "(purpose = 'government_payable') = (government_payable_id IS NOT NULL)",
            name=op.f("ck_settlement_payments_government_payable"),
        ),
        sa.CheckConstraint(
            "(purpose = 'milestone') = (milestone_id IS NOT NULL)", name=op.f("ck_settlement_payments_milestone")
        ),
        sa.CheckConstraint(
            "(status IN ('pending', 'rejected', 'cancelled')) = (capture_entry_id IS NULL)",
            name=op.f("ck_settlement_payments_captured"),
        ),
        sa.CheckConstraint(
            "purpose IN ('milestone', 'escrow_deposit', 'service_fee', 'voucher_fund', 'government_payable')",
            name=op.f("ck_settlement_payments_purpose"),
        ),
        sa.CheckConstraint(
            "rail = 'bank_transfer' OR bank_reference IS NULL", name=op.f("ck_settlement_payments_bank_reference_rail")
        ),
        sa.CheckConstraint(
            "rail = 'bank_transfer' OR stripe_payment_intent_id IS NOT NULL OR status = 'pending'",
            name=op.f("ck_settlement_payments_stripe_intent"),
        ),
        sa.CheckConstraint("rail IN ('bank_transfer', 'stripe')", name=op.f("ck_settlement_payments_rail")),
        sa.CheckConstraint(
            "status IN ('pending', 'succeeded', 'partially_refunded', 'refunded', 'rejected', 'cancelled')",
            name=op.f("ck_settlement_payments_status"),
        ),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_settlement_payments_amount_positive")),
        sa.CheckConstraint(
            "refund_posted_fen BETWEEN 0 AND refunded_fen",
            name=op.f("ck_settlement_payments_refund_posted_within_refunded"),
        ),
        sa.CheckConstraint(
            "refunded_fen BETWEEN 0 AND amount_fen", name=op.f("ck_settlement_payments_refunded_within_amount")
        ),
        sa.CheckConstraint(
            "reported_refunded_fen BETWEEN 0 AND amount_fen",
            name=op.f("ck_settlement_payments_reported_refunded_within_amount"),
        ),
        sa.ForeignKeyConstraint(
            ["capture_entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_settlement_payments_capture_entry_id_ledger_entries"),
        ),
        sa.ForeignKeyConstraint(["confirmed_by"], ["users.id"], name=op.f("fk_settlement_payments_confirmed_by_users")),
        sa.ForeignKeyConstraint(
            ["government_payable_id"],
            ["government_payables.id"],
            name=op.f("fk_settlement_payments_government_payable_id_government_payables"),
        ),
        sa.ForeignKeyConstraint(
            ["milestone_id"],
            ["settlement_milestones.id"],
            name=op.f("fk_settlement_payments_milestone_id_settlement_milestones"),
        ),
        sa.ForeignKeyConstraint(
            ["payer_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_settlement_payments_payer_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(["recorded_by"], ["users.id"], name=op.f("fk_settlement_payments_recorded_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_payments")),
        sa.UniqueConstraint("stripe_payment_intent_id", name=op.f("uq_settlement_payments_stripe_payment_intent_id")),
    )
    op.create_index("ix_settlement_payments_milestone_id", "settlement_payments", ["milestone_id"], unique=False)
    op.create_index(
        "ix_settlement_payments_payer_created",
        "settlement_payments",
        ["payer_organisation_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_settlement_payments_status_created", "settlement_payments", ["status", "created_at", "id"], unique=False
    )
    op.create_index(
        "uq_settlement_payments_bank_reference",
        "settlement_payments",
        ["bank_reference"],
        unique=True,
        postgresql_where=sa.text("rail = 'bank_transfer' AND status <> 'rejected'"),
    )
    op.create_table(
        "bank_statement_lines",
        sa.Column("import_id", sa.UUID(), nullable=False),
        sa.Column("line_number", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("booked_on", sa.Date(), nullable=False),
        sa.Column("bank_reference", sa.String(length=64), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("counterparty", sa.String(length=200), nullable=True),
        sa.Column("memo", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("payment_id", sa.UUID(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("resolved_by", sa.UUID(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('matched', 'unmatched', 'amount_mismatch', 'resolved', 'dismissed')",
            name=op.f("ck_bank_statement_lines_status"),
        ),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_bank_statement_lines_amount_positive")),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["bank_statement_imports.id"],
            name=op.f("fk_bank_statement_lines_import_id_bank_statement_imports"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["settlement_payments.id"],
            name=op.f("fk_bank_statement_lines_payment_id_settlement_payments"),
        ),
        sa.ForeignKeyConstraint(["resolved_by"], ["users.id"], name=op.f("fk_bank_statement_lines_resolved_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_statement_lines")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_bank_statement_lines_fingerprint")),
    )
    op.create_index("ix_bank_statement_lines_reference", "bank_statement_lines", ["bank_reference"], unique=False)
    op.create_index(
        "ix_bank_statement_lines_status_booked", "bank_statement_lines", ["status", "booked_on", "id"], unique=False
    )
    op.create_table(
        "settlement_refunds",
        sa.Column("payment_id", sa.UUID(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("stripe_refund_id", sa.String(length=255), nullable=True),
        sa.Column("bank_reference", sa.String(length=64), nullable=True),
        sa.Column("requested_by", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name=op.f("ck_settlement_refunds_status")),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_settlement_refunds_amount_positive")),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["settlement_payments.id"],
            name=op.f("fk_settlement_refunds_payment_id_settlement_payments"),
        ),
        sa.ForeignKeyConstraint(["requested_by"], ["users.id"], name=op.f("fk_settlement_refunds_requested_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_refunds")),
        sa.UniqueConstraint("stripe_refund_id", name=op.f("uq_settlement_refunds_stripe_refund_id")),
    )
    op.create_index("ix_settlement_refunds_payment_id", "settlement_refunds", ["payment_id"], unique=False)
    _ledger_rules()


def downgrade() -> None:
    op.drop_index("ix_settlement_refunds_payment_id", table_name="settlement_refunds")
    op.drop_table("settlement_refunds")
    op.drop_index("ix_bank_statement_lines_status_booked", table_name="bank_statement_lines")
    op.drop_index("ix_bank_statement_lines_reference", table_name="bank_statement_lines")
    op.drop_table("bank_statement_lines")
    op.drop_index(
        "uq_settlement_payments_bank_reference",
        table_name="settlement_payments",
        postgresql_where=sa.text("rail = 'bank_transfer' AND status <> 'rejected'"),
    )
    op.drop_index("ix_settlement_payments_status_created", table_name="settlement_payments")
    op.drop_index("ix_settlement_payments_payer_created", table_name="settlement_payments")
    op.drop_index("ix_settlement_payments_milestone_id", table_name="settlement_payments")
    op.drop_table("settlement_payments")
    op.drop_index(
        "uq_voucher_redemptions_open_contract",
        table_name="voucher_redemptions",
        postgresql_where=sa.text("status = 'committed'"),
    )
    op.drop_index("ix_voucher_redemptions_voucher_id", table_name="voucher_redemptions")
    op.drop_table("voucher_redemptions")
    op.drop_table("settlement_milestones")
    op.drop_index("ix_innovation_vouchers_holder_created", table_name="innovation_vouchers")
    op.drop_index("ix_innovation_vouchers_government_created", table_name="innovation_vouchers")
    op.drop_index(
        "ix_innovation_vouchers_due", table_name="innovation_vouchers", postgresql_where=sa.text("status = 'active'")
    )
    op.drop_table("innovation_vouchers")
    op.drop_index("ix_settlement_payouts_organisation_created", table_name="settlement_payouts")
    op.drop_table("settlement_payouts")
    op.drop_index("ix_ledger_postings_entry_id", table_name="ledger_postings")
    op.drop_index("ix_ledger_postings_account_id_id", table_name="ledger_postings")
    op.drop_table("ledger_postings")
    op.drop_index(
        "ix_ledger_pending_entries_due",
        table_name="ledger_pending_entries",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_index("ix_ledger_pending_entries_debit_account", table_name="ledger_pending_entries")
    op.drop_table("ledger_pending_entries")
    op.drop_table("ledger_balances")
    op.drop_table("bank_statement_imports")
    op.drop_index(
        "uq_ledger_accounts_platform_kind",
        table_name="ledger_accounts",
        postgresql_where=sa.text("organisation_id IS NULL"),
    )
    op.drop_index(
        "uq_ledger_accounts_organisation_kind",
        table_name="ledger_accounts",
        postgresql_where=sa.text("organisation_id IS NOT NULL"),
    )
    op.drop_table("ledger_accounts")
    op.drop_index("ix_government_payables_government_created", table_name="government_payables")
    op.drop_table("government_payables")
    op.drop_index(
        "ix_stripe_inbox_events_unprocessed",
        table_name="stripe_inbox_events",
        postgresql_where=sa.text("processed_at IS NULL"),
    )
    op.drop_table("stripe_inbox_events")
    op.drop_index("ix_ledger_entries_created_at", table_name="ledger_entries")
    op.drop_table("ledger_entries")
    op.execute("DROP FUNCTION ledger_pending_resolves_once()")
    op.execute("DROP FUNCTION ledger_check_entry_balanced()")
