"""The embedded engine's table: one row per indexed document, with its weighted tsvector and trigram text."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, MetaData, PrimaryKeyConstraint, Table, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR

# The marketplace's convention (services/marketplace/models/base.py), repeated because matching never imports it.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

search_documents = Table(
    "search_documents",
    metadata,
    Column("index_name", Text, nullable=False),
    Column("doc_id", Text, nullable=False),
    Column("version", BigInteger, nullable=False),
    # what search returns; filters and sorting read the two small columns below, never this one
    Column("document", JSONB, nullable=False),
    # "field=value" for every value of every filterable field (list fields give one term per element)
    Column("filter_terms", ARRAY(Text), nullable=False),
    # the numeric filterable and sortable fields, for ranges and sorting
    Column("numbers", JSONB, nullable=False),
    # title A, keywords B, summary/problem C, the rest D: segmented tokens joined by spaces
    Column("tsv", TSVECTOR, nullable=False),
    # normalised, segmented words of the title and keywords, for pg_trgm (mistyped terms)
    Column("search_text", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
    Column("updated_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
    PrimaryKeyConstraint("index_name", "doc_id"),
    Index("ix_search_documents_tsv", "tsv", postgresql_using="gin"),
    Index(
        "ix_search_documents_search_text",
        "search_text",
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    ),
    Index("ix_search_documents_filter_terms", "filter_terms", postgresql_using="gin"),
    # Newest first is how listings are browsed; the other sort orders read the filtered rows.
    Index(
        "ix_search_documents_published_at",
        "index_name",
        text("(numbers -> 'published_at') DESC NULLS LAST"),
    ),
)
