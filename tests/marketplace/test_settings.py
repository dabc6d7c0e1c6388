from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.marketplace.settings import DEVELOPMENT_SECRET, Settings

DB = "postgresql+asyncpg://app@db/techmarket"


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(environment="production", database_url=DB, secret_key=DEVELOPMENT_SECRET)


def test_production_refuses_short_secrets_and_the_embedded_database() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(environment="production", database_url=DB, secret_key="short")
    with pytest.raises(ValidationError, match="DATABASE_URL"):
        Settings(environment="production", secret_key="x" * 40)


def test_production_needs_a_search_key_with_meilisearch() -> None:
    with pytest.raises(ValidationError, match="MEILI_API_KEY"):
        Settings(environment="production", database_url=DB, secret_key="x" * 40, meili_url="http://meili:7700")


def test_settings_come_from_prefixed_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TECHMARKET_ENVIRONMENT", "production")
    monkeypatch.setenv("TECHMARKET_DATABASE_URL", DB)
    monkeypatch.setenv("TECHMARKET_SECRET_KEY", "k" * 48)
    settings = Settings()
    assert settings.environment == "production"
    assert settings.secret_key.get_secret_value() == "k" * 48
    assert not settings.embedded_database
