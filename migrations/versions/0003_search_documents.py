"""search documents of the embedded search engine

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 09:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "search_documents",
        sa.Column("index_name", sa.Text(), nullable=False),
        sa.Column("doc_id", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("document", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("filter_terms", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("numbers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("tsv", postgresql.TSVECTOR(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("index_name", "doc_id", name=op.f("pk_search_documents")),
    )
    # Counting and faceting visit every matching row but read only the small columns; the tsvector and the
    # document are read for a few hundred candidates at most. So rows keep only the small columns inline
    # (MAIN) and the large ones go to the TOAST table: 10+ rows a page, and far fewer pages to visit.
    op.execute("ALTER TABLE search_documents SET (toast_tuple_target = 128)")
    for column in ("filter_terms", "numbers", "search_text"):
        op.execute(f"ALTER TABLE search_documents ALTER COLUMN {column} SET STORAGE MAIN")
    op.create_index("ix_search_documents_tsv", "search_documents", ["tsv"], unique=False, postgresql_using="gin")
    op.create_index(
        "ix_search_documents_search_text",
        "search_documents",
        ["search_text"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    op.create_index(
        "ix_search_documents_published_at",
        "search_documents",
        ["index_name", sa.text("(numbers -> 'published_at') DESC NULLS LAST")],
        unique=False,
    )
    op.create_index(
        "ix_search_documents_filter_terms",
        "search_documents",
        ["filter_terms"],
        unique=False,
        postgresql_using="gin",
    )


def downgrade() -> None:
    # pg_trgm stays: other objects may use it, and dropping an extension is an administrator's decision.
    op.drop_index("ix_search_documents_published_at", table_name="search_documents")
    op.drop_index("ix_search_documents_filter_terms", table_name="search_documents", postgresql_using="gin")
    op.drop_index("ix_search_documents_search_text", table_name="search_documents", postgresql_using="gin")
    op.drop_index("ix_search_documents_tsv", table_name="search_documents", postgresql_using="gin")
    op.drop_table("search_documents")
