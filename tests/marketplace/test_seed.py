from __future__ import annotations

import pytest
from typer.testing import CliRunner

from services.marketplace.cli import app as cli
from services.marketplace.kit.uscc import validate_uscc
from services.marketplace.seed_listings import demo_uscc


def test_seed_creates_demo_accounts_and_published_listings_once(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TECHMARKET_DATABASE_URL", database_url)
    first = CliRunner().invoke(cli, ["seed"])
    assert first.exit_code == 0, first.output
    assert "seeded 128 published achievements and 16 demands" in first.output
    assert "admin@demo.ahstm.cn" in first.output
    second = CliRunner().invoke(cli, ["seed"])
    assert second.exit_code == 0
    assert "seeded" not in second.output


def test_seed_is_refused_in_production(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TECHMARKET_DATABASE_URL", database_url)
    monkeypatch.setenv("TECHMARKET_ENVIRONMENT", "production")
    monkeypatch.setenv("TECHMARKET_SECRET_KEY", "p" * 40)
    result = CliRunner().invoke(cli, ["seed"])
    assert result.exit_code != 0


def test_demo_organisation_codes_are_valid_and_stable() -> None:
    code = demo_uscc("合肥示范研究院", "research_institute", "340104")
    assert validate_uscc(code) == code
    assert demo_uscc("合肥示范研究院", "research_institute", "340104") == code


def test_create_admin_makes_a_platform_administrator(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.marketplace.kit.uscc import check_character

    monkeypatch.setenv("TECHMARKET_DATABASE_URL", database_url)
    body = "12340100MB0099999"
    args = [
        "users",
        "create-admin",
        "--email",
        "ops@ahstm.cn",
        "--display-name",
        "运维",
        "--password",
        "a-strong-password",
        "--organisation-uscc",
        body + check_character(body),
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    again = CliRunner().invoke(cli, [*args[:3], "ops2@ahstm.cn", *args[4:]])
    assert again.exit_code == 0, again.output
    duplicate = CliRunner().invoke(cli, args)
    assert duplicate.exit_code == 2
    assert "already" in duplicate.output
    missing = CliRunner().invoke(
        cli, ["users", "create-admin", "--email", "x@ahstm.cn", "--display-name", "x", "--password", "short"]
    )
    assert missing.exit_code != 0
