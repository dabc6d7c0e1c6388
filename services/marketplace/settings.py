"""Runtime configuration, read from the environment with the prefix ``TECHMARKET_``."""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEVELOPMENT_SECRET = "development-only-secret-change-me-0123456789"  # noqa: S105


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TECHMARKET_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str | None = Field(
        default=None,
        description="postgresql+asyncpg:// URL; when unset the embedded PostgreSQL is started.",
    )
    data_dir: Path = Path(".techmarket")
    database_pool_size: int = 10
    database_max_overflow: int = 10

    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET)
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    jwt_issuer: str = "techmarket"
    jwt_audience: str = "techmarket-api"
    access_token_ttl_seconds: int = 15 * 60
    refresh_token_ttl_seconds: int = 30 * 24 * 3600

    login_rate_limit_per_account: int = 10
    login_rate_limit_per_address: int = 30
    login_rate_limit_window_seconds: int = 300

    meili_url: str | None = None
    meili_api_key: SecretStr | None = None
    meili_index_prefix: str = ""
    search_database_url: str | None = Field(
        default=None,
        description="postgresql+asyncpg:// URL of the embedded search engine's own pool (a replica or another "
        "endpoint); when unset it shares the main database's pool.",
    )

    run_worker_in_process: bool = True
    outbox_max_attempts: int = 8
    outbox_poll_interval_seconds: float = 1.0
    outbox_backoff_base_seconds: float = 2.0

    stripe_api_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_api_base: str | None = Field(default=None, description="Stripe API base URL; tests point it at localstripe.")
    platform_fee_bp: int = Field(default=0, ge=0, le=10_000, description="Platform fee on released milestones (bp).")

    max_body_bytes: int = 1024 * 1024
    max_upload_bytes: int = 20 * 1024 * 1024
    log_level: str = "INFO"
    log_json: bool = True

    cors_allow_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Browser origins allowed to call the API (comma-separated or a JSON list); none by default.",
    )
    docs_enabled: bool | None = Field(
        default=None, description="Serve /docs, /redoc and /openapi.json; by default everywhere but production."
    )
    hsts_max_age_seconds: int | None = Field(
        default=None, ge=0, description="Strict-Transport-Security max-age; by default one year in production only."
    )

    @field_validator("cors_allow_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("cors_allow_origins")
    @classmethod
    def _check_origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if origin == "*":
                continue
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
                raise ValueError(f"CORS origin {origin!r} must be scheme://host[:port] without a path")
        return origins

    @property
    def serve_docs(self) -> bool:
        return self.docs_enabled if self.docs_enabled is not None else self.environment != "production"

    @property
    def effective_hsts_max_age_seconds(self) -> int:
        if self.hsts_max_age_seconds is not None:
            return self.hsts_max_age_seconds
        return 365 * 24 * 3600 if self.environment == "production" else 0

    @model_validator(mode="after")
    def _refuse_default_secrets_in_production(self) -> Settings:
        if self.environment != "production":
            return self
        secret = self.secret_key.get_secret_value()
        if secret == DEVELOPMENT_SECRET or len(secret) < 32:
            raise ValueError("TECHMARKET_SECRET_KEY must be set to a random value of at least 32 characters")
        if not self.database_url:
            raise ValueError("TECHMARKET_DATABASE_URL is required in production (no embedded database)")
        if self.meili_url and not self.meili_api_key:
            raise ValueError("TECHMARKET_MEILI_API_KEY is required when TECHMARKET_MEILI_URL is set")
        if "*" in self.cors_allow_origins:
            raise ValueError("TECHMARKET_CORS_ALLOW_ORIGINS must list origins in production, not '*'")
        return self

    @cached_property
    def embedded_database(self) -> bool:
        return self.database_url is None
