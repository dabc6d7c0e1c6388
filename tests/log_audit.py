"""Secrets never reach the logs: every log record of the whole test run is written out, then searched.

A pytest plugin (registered in ``tests/conftest.py``): at start it attaches a JSON handler at INFO — the
production level — to the root logger; at the end of the session it searches the file for access tokens,
API keys, refresh-token-shaped strings, every password the suite uses and the configured secrets, and
fails the run (exit status 1) naming each hit. Set ``TECHMARKET_TEST_LOG`` to keep the file somewhere.
"""

from __future__ import annotations

import ast
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.marketplace.observability import JsonFormatter
from services.marketplace.settings import DEVELOPMENT_SECRET

TESTS_DIR = Path(__file__).resolve().parent

TOKEN_PATTERNS: dict[str, re.Pattern[str]] = {
    "access token (JWT)": re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    "API key": re.compile(r"tmk_[A-Za-z0-9]+_[A-Za-z0-9_-]{32,}"),
    # Refresh tokens are 64 url-safe base64 characters; SHA-256 digests (64 lowercase hex) are not secrets.
    "refresh token": re.compile(
        r"(?<![A-Za-z0-9_-])(?![0-9a-f]{64}(?![A-Za-z0-9_-]))[A-Za-z0-9_-]{64}(?![A-Za-z0-9_-])"
    ),
    "Stripe secret key": re.compile(r"\b(?:sk|rk)_(?:test|live)_[A-Za-z0-9]{10,}"),
    "Stripe webhook secret": re.compile(r"\bwhsec_[A-Za-z0-9]{10,}"),
}
_PASSWORD_KEYS = re.compile(r"password|secret", re.IGNORECASE)


@dataclass(frozen=True)
class Leak:
    line_number: int
    what: str
    excerpt: str


def suite_secrets(tests_dir: Path = TESTS_DIR) -> set[str]:
    """Every string literal the suite uses as a password or secret (keyword arguments, dict keys, constants)."""
    found = {DEVELOPMENT_SECRET}
    for path in tests_dir.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            found.update(_secret_literals(node))
    return {value for value in found if len(value) >= 8}


def _secret_literals(node: ast.AST) -> Iterator[str]:
    def literal(value: ast.AST | None) -> str | None:
        return value.value if isinstance(value, ast.Constant) and isinstance(value.value, str) else None

    if isinstance(node, ast.keyword) and node.arg and _PASSWORD_KEYS.search(node.arg):
        if (text := literal(node.value)) is not None:
            yield text
    elif isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values, strict=True):
            if (name := literal(key)) and _PASSWORD_KEYS.search(name) and (text := literal(value)) is not None:
                yield text
    elif isinstance(node, ast.Assign):
        for target in node.targets:
            text = literal(node.value)
            if isinstance(target, ast.Name) and _PASSWORD_KEYS.search(target.id) and text is not None:
                yield text


def find_leaks(lines: Iterable[str], secrets: set[str]) -> list[Leak]:
    leaks: list[Leak] = []
    for number, line in enumerate(lines, start=1):
        for what, pattern in TOKEN_PATTERNS.items():
            if match := pattern.search(line):
                leaks.append(Leak(number, what, _excerpt(line, match.start())))
        for secret in secrets:
            if (position := line.find(secret)) >= 0:
                leaks.append(Leak(number, "password or secret used by the suite", _excerpt(line, position)))
    return leaks


def _excerpt(line: str, position: int) -> str:
    return line[max(0, position - 60) : position + 20].strip()


class LogAudit:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.handler = logging.FileHandler(path, encoding="utf-8")
        self.handler.setLevel(logging.INFO)
        self.handler.setFormatter(JsonFormatter())
        self.previous_level = logging.getLogger().level

    def start(self) -> None:
        root = logging.getLogger()
        root.addHandler(self.handler)
        root.setLevel(logging.INFO)

    def stop(self) -> list[Leak]:
        root = logging.getLogger()
        root.removeHandler(self.handler)
        root.setLevel(self.previous_level)
        self.handler.close()
        with self.path.open(encoding="utf-8", errors="replace") as lines:
            return find_leaks(lines, suite_secrets())


_STASH = pytest.StashKey[LogAudit]()


def pytest_configure(config: pytest.Config) -> None:
    configured = os.environ.get("TECHMARKET_TEST_LOG")
    if configured:
        path = Path(configured)
        path.parent.mkdir(parents=True, exist_ok=True)
    else:
        handle, name = tempfile.mkstemp(prefix="techmarket-test-log-", suffix=".jsonl")
        os.close(handle)
        path = Path(name)
    audit = LogAudit(path)
    audit.start()
    config.stash[_STASH] = audit


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    audit = session.config.stash.get(_STASH, None)
    if audit is None:
        return
    leaks = audit.stop()
    size = audit.path.stat().st_size
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.ensure_newline()
        reporter.write_line(
            f"log audit: {size:,} bytes of logs searched for secrets ({audit.path}): {len(leaks)} found"
        )
        for leak in leaks[:20]:
            reporter.write_line(f"  line {leak.line_number}: {leak.what}: …{leak.excerpt}…", red=True)
    if not os.environ.get("TECHMARKET_TEST_LOG"):
        audit.path.unlink(missing_ok=True)
    if leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
