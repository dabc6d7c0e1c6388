"""Benchmark: authenticated ``GET /v1/organisations/{id}``, our service vs a bare Starlette + asyncpg baseline.

    .venv/bin/python bench/bench_organisation_get.py [--duration 10] [--connections 32] [--rounds 2]

What it does, all on 127.0.0.1 and bounded in time:

1. starts an embedded PostgreSQL in a temporary directory (deleted on exit), migrates it to head, seeds
   the demo data and mints an access token for the demo platform administrator (``--caller member`` uses
   a plain member of another organisation instead, which adds the visibility predicate to the SQL);
2. starts our service (``services.marketplace.app:create_app``, what ``techmarket serve`` runs) and the
   baseline (``bench/baseline_app.py``) as two uvicorn subprocesses with identical uvicorn settings: one
   process each, uvloop + httptools when installed, no access log, log level WARNING (our request log
   lines are therefore off), the outbox worker off, the same JWT secret;
3. checks that both return 200 and the same JSON body, warms each up, then loads each in turn (never both
   at once) with ``wrk`` (or ``bench/http_load.py`` when wrk is missing) for ``--duration`` seconds per
   round, alternating which server goes first in each round;
4. prints requests/s, p50, p99, non-200 responses, CPU used by the server process and by PostgreSQL, and
   the throughput ratio ours/baseline (target: at least 0.5), and writes the figures to
   ``bench/results/organisation_get.json``.

Exit status: 0 when every response was a 200 (whatever the ratio: this is a benchmark, not a test),
1 when any response was not, 2 when the set-up failed.

To find where the time goes: ``--profile`` samples our server with py-spy during one extra, unreported
run; ``--variant NAME`` (``bench/ours_variants.py``) and ``--ours-env TECHMARKET_X=Y`` run our server
with one overhead removed or one setting changed (experiments; the output says so).
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import collections
import contextlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import select

from services.marketplace import db
from services.marketplace.embedded import start_embedded_postgres
from services.marketplace.identity.security import issue_access_token
from services.marketplace.migrate import upgrade_to_head
from services.marketplace.models import Organisation, User
from services.marketplace.seed import seed_demo_data
from services.marketplace.settings import DEVELOPMENT_SECRET, Settings

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
RESULTS = BENCH / "results" / "organisation_get.json"
LOOPBACK = "127.0.0.1"
MARKER_HEADER = "x-bench-server"
ADMIN_EMAIL = "admin@demo.ahstm.cn"
MEMBER_EMAIL = "engineer@demo-energy.com"
TARGET_RATIO = 0.5
VARIANTS = ("async_settings", "no_pre_ping", "autocommit", "no_middleware")  # see bench/ours_variants.py


# --------------------------------------------------------------------------------------------- set-up


@dataclass
class Fixture:
    database_url: str
    organisation_id: uuid.UUID
    token: str
    caller: str
    postgres_pid: int | None


async def _seed_and_mint(settings: Settings, database_url: str, caller: str) -> tuple[uuid.UUID, str]:
    engine = db.create_engine(settings, database_url)
    try:
        async with db.unit_of_work(db.create_sessionmaker(engine)) as session:
            await seed_demo_data(session)
        async with db.unit_of_work(db.create_sessionmaker(engine)) as session:
            email = ADMIN_EMAIL if caller == "admin" else MEMBER_EMAIL
            user = (await session.scalars(select(User).where(User.email == email))).one()
            # A verified organisation that is not the caller's own: the common case of a lookup.
            target = (
                await session.scalars(
                    select(Organisation)
                    .where(Organisation.id != user.organisation_id, Organisation.kind == "university")
                    .limit(1)
                )
            ).one()
            token, _ = issue_access_token(
                settings, user_id=user.id, organisation_id=user.organisation_id, roles=list(user.roles)
            )
            return target.id, token
    finally:
        await engine.dispose()


def prepare_database(data_dir: Path, caller: str) -> Fixture:
    database_url = start_embedded_postgres(data_dir, delete_on_exit=True)
    upgrade_to_head(database_url)
    # Tokens live 15 minutes by default; a run is shorter, but give the token an hour anyway.
    settings = Settings(
        database_url=database_url, secret_key=DEVELOPMENT_SECRET, access_token_ttl_seconds=3600, log_json=False
    )
    organisation_id, token = asyncio.run(_seed_and_mint(settings, database_url, caller))
    return Fixture(database_url, organisation_id, token, caller, _postmaster_pid(data_dir))


def _postmaster_pid(data_dir: Path) -> int | None:
    pid_file = data_dir / "pgdata" / "postmaster.pid"
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int(pid_file.read_text().splitlines()[0])
    return None


def remove_work_dir(work_dir: Path) -> None:
    """Last exit hook: stop our PostgreSQL if its own clean-up could not, then delete the directory."""
    pgdata = str((work_dir / "pgdata").resolve())
    for process in psutil.process_iter(["name", "cmdline"]):
        with contextlib.suppress(psutil.Error, ValueError, IndexError):
            cmdline = process.info["cmdline"] or []
            if process.info["name"] == "postgres" and cmdline[cmdline.index("-D") + 1] == pgdata:
                process.send_signal(signal.SIGINT)  # fast shutdown of the postmaster and its backends
                try:
                    process.wait(10)
                except psutil.TimeoutExpired:
                    process.kill()
    shutil.rmtree(work_dir, ignore_errors=True)


def display(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(ROOT))
    return str(path)


# -------------------------------------------------------------------------------------------- servers


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports (all sockets held open until every port is chosen)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)]
        for sock in sockets:
            sock.bind((LOOPBACK, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def uvicorn_options() -> list[str]:
    """The same for both servers: uvloop + httptools when installed (uvicorn's ``auto``), no access log."""
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return ["--loop", loop, "--http", http, "--no-access-log", "--log-level", "warning", "--workers", "1"]


@dataclass
class Server:
    name: str
    app: list[str]
    port: int
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    def url(self, path: str) -> str:
        return f"http://{LOOPBACK}:{self.port}{path}"

    def start(self, env: dict[str, str], log_dir: Path) -> None:
        command = [sys.executable, "-m", "uvicorn", *self.app, "--host", LOOPBACK, "--port", str(self.port)]
        # The marker header proves that this process, and not another one on the port, answers.
        command += [*uvicorn_options(), "--header", f"{MARKER_HEADER}:{self.marker}"]
        self.log_path = log_dir / f"{self.name.split()[0]}-{self.port}.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env | self.extra_env, stdout=log, stderr=subprocess.STDOUT
            )

    @property
    def marker(self) -> str:
        return f"{self.port}-{self.name.split()[0]}"

    def ensure_alive(self) -> None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def fetch(url: str, token: str, timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310 - http on loopback
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http on loopback
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def wait_until_ready(server: Server, path: str, token: str, timeout: float = 60.0) -> bytes:
    deadline = time.monotonic() + timeout
    last_error = ""
    while time.monotonic() < deadline:
        server.ensure_alive()
        try:
            status, headers, body = fetch(server.url(path), token)
        except OSError as exc:
            last_error = str(exc)
        else:
            if headers.get(MARKER_HEADER) != server.marker:
                raise RuntimeError(f"port {server.port} is answered by something other than {server.name}")
            if status == 200:
                return body
            raise RuntimeError(f"{server.name} answered {status}: {body[:500]!r}\n{server.log_tail()}")
        time.sleep(0.2)
    raise RuntimeError(f"{server.name} not ready after {timeout:.0f}s ({last_error})\n{server.log_tail()}")


# ------------------------------------------------------------------------------------------------ load


def load_generator() -> str:
    return "wrk" if shutil.which("wrk") else "python"


def run_load(kind: str, url: str, token: str, duration: float, connections: int) -> dict[str, Any]:
    if kind == "wrk":
        command = [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "10s",
            "-s",
            str(BENCH / "wrk_report.lua"),
            url,
        ]
    else:
        command = [
            sys.executable,
            str(BENCH / "http_load.py"),
            "--url",
            url,
            "--header",
            f"Authorization: Bearer {token}",
            "--connections",
            str(connections),
            "--duration",
            str(duration),
        ]
    env = {**os.environ, "BENCH_AUTHORIZATION": f"Bearer {token}"}
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=duration + 60, check=False)
    for line in completed.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            result: dict[str, Any] = json.loads(line.removeprefix("BENCH_RESULT "))
            return result
    raise RuntimeError(f"{kind} printed no result (exit {completed.returncode}):\n{completed.stdout}{completed.stderr}")


def _cpu_seconds(processes: list[psutil.Process]) -> dict[int, float]:
    """CPU seconds (user + system) by pid."""
    seconds: dict[int, float] = {}
    for process in processes:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            seconds[process.pid] = times.user + times.system
    return seconds


def _postgres_processes(postmaster_pid: int | None) -> list[psutil.Process]:
    if postmaster_pid is None:
        return []
    try:
        postmaster = psutil.Process(postmaster_pid)
        return [postmaster, *postmaster.children(recursive=True)]
    except psutil.Error:
        return []


def _spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two snapshots; processes started in between count from zero."""
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


def measure(
    kind: str, server: Server, path: str, fixture: Fixture, duration: float, connections: int
) -> dict[str, Any]:
    """One load run, with the CPU time that the server process and PostgreSQL spent during it."""
    assert server.process is not None
    server_process = [psutil.Process(server.process.pid)]
    server_before = _cpu_seconds(server_process)
    postgres_before = _cpu_seconds(_postgres_processes(fixture.postgres_pid))
    result = run_load(kind, server.url(path), fixture.token, duration, connections)
    server_cpu = _spent(server_before, _cpu_seconds(server_process))
    postgres_cpu = _spent(postgres_before, _cpu_seconds(_postgres_processes(fixture.postgres_pid)))
    seconds, requests = result["duration_s"], result["requests"]
    result["server_cpu_pct"] = round(100 * server_cpu / seconds, 1)
    result["postgres_cpu_pct"] = round(100 * postgres_cpu / seconds, 1)
    result["server_cpu_us_per_request"] = round(1e6 * server_cpu / requests, 1) if requests else 0.0
    return result


# ---------------------------------------------------------------------------------------------- report


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def mean(key: str) -> float:
        return round(statistics.fmean(run[key] for run in runs), 3)

    return {
        "rps": round(statistics.fmean(run["rps"] for run in runs), 1),
        "p50_ms": mean("p50_ms"),
        "p99_ms": mean("p99_ms"),
        "requests": sum(run["requests"] for run in runs),
        "errors": sum(run["non_200"] + run["socket_errors"] for run in runs),
        "server_cpu_pct": round(statistics.fmean(run["server_cpu_pct"] for run in runs), 1),
        "postgres_cpu_pct": round(statistics.fmean(run["postgres_cpu_pct"] for run in runs), 1),
        "server_cpu_us_per_request": round(statistics.fmean(run["server_cpu_us_per_request"] for run in runs), 1),
    }


def print_table(rows: list[tuple[str, dict[str, Any]]]) -> None:
    header = (
        f"{'server':<22} {'requests/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
        f"{'server CPU':>11} {'CPU µs/req':>11} {'postgres CPU':>13}"
    )
    print(header)
    print("-" * len(header))
    for label, row in rows:
        errors = row.get("errors", row.get("non_200", 0) + row.get("socket_errors", 0))
        print(
            f"{label:<22} {row['rps']:>11,.0f} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f} {errors:>7} "
            f"{row['server_cpu_pct']:>10.0f}% {row['server_cpu_us_per_request']:>11.0f} "
            f"{row['postgres_cpu_pct']:>12.0f}%"
        )


# --------------------------------------------------------------------------------------------- profile


def profile_ours(
    kind: str, server: Server, path: str, fixture: Fixture, duration: float, connections: int, out_dir: Path
) -> None:
    """Sample our server with py-spy during one extra run (not counted) and print the hottest frames."""
    py_spy = shutil.which("py-spy")
    if py_spy is None:
        print("\n--profile: py-spy is not on PATH (pip install py-spy into any environment); skipped")
        return
    assert server.process is not None
    raw = out_dir / "organisation_get.pyspy.txt"
    command = [py_spy, "record", "--pid", str(server.process.pid), "--rate", "250", "--format", "raw"]
    # Blocking sampling (py-spy pauses the process for each sample): consistent stacks; this run is not reported.
    command += ["--duration", str(max(1, round(duration))), "--output", str(raw)]
    recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        time.sleep(1.0)  # let py-spy attach before the load starts
        run_load(kind, server.url(path), fixture.token, duration, connections)
        _, stderr = recorder.communicate(timeout=duration + 60)
    finally:
        if recorder.poll() is None:
            recorder.kill()
            recorder.wait()
    if not raw.exists():
        print(f"\n--profile: py-spy wrote nothing: {stderr.decode(errors='replace')[-500:]}")
        return
    print(f"\nProfile of our server (py-spy, collapsed stacks in {display(raw)}):")
    print_profile(raw)


# Each sample is charged to the innermost frame that matches one of these (so SQLAlchemy code called from
# a FastAPI dependency counts as SQLAlchemy); samples that match none are event loop / C-level work.
PROFILE_BUCKETS = (
    ("thread-pool hop (anyio worker threads, locks)", ("anyio/", "threading.py", "queue.py", "to_thread")),
    ("JWT decode (PyJWT)", ("jwt/",)),
    ("pydantic validation/serialisation", ("pydantic", "fastapi/_compat", "serialize_response", "jsonable_encoder")),
    ("asyncpg (protocol, socket writes)", ("asyncpg/",)),
    ("SQLAlchemy pool + asyncpg adaptor + greenlet", ("sqlalchemy/pool", "sqlalchemy/dialects", "concurrency.py")),
    ("SQLAlchemy ORM / Core (python)", ("sqlalchemy/",)),
    ("our code (services/)", ("services/",)),
    ("FastAPI routing / dependency injection", ("fastapi/",)),
    ("Starlette routing / middleware", ("starlette/",)),
    ("prometheus_client / logging / uuid", ("prometheus_client", "logging/", "uuid.py")),
    ("uvicorn / httptools protocol", ("uvicorn/",)),
)


def _bucket(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, needles in PROFILE_BUCKETS:
            if any(needle in frame for needle in needles):
                return name
    return "other (event loop, C code)"


def print_profile(raw: Path) -> None:
    leaf: collections.Counter[str] = collections.Counter()
    buckets: collections.Counter[str] = collections.Counter()
    total = idle = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        if frames[-1].startswith("Condition.wait") and any(frame.startswith("Queue.get") for frame in frames):
            idle += count  # an anyio worker thread waiting for work (py-spy does not see it as idle)
            continue
        total += count
        leaf[frames[-1]] += count
        buckets[_bucket(frames)] += count
    if not total:
        print("  (no samples)")
        return
    print(f"  {total} samples (idle worker threads' {idle} left out), charged to the innermost matching layer:")
    for name, count in buckets.most_common():
        print(f"  {100 * count / total:5.1f}%  {name}")
    print("  hottest leaf frames (self time):")
    for frame, count in leaf.most_common(15):
        print(f"  {100 * count / total:5.1f}%  {frame[:150]}")


# ------------------------------------------------------------------------------------------------ main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="GET /v1/organisations/{id}: our service vs bare Starlette+asyncpg")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measured run (default 10)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent keep-alive connections (default 32)")
    parser.add_argument("--rounds", type=int, default=2, help="measured runs per server, order alternating (default 2)")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per server (default 2)")
    parser.add_argument("--caller", choices=["admin", "member"], default="admin", help="whose token (default admin)")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--profile", action="store_true", help="also sample our server with py-spy (extra run)")
    parser.add_argument(
        "--variant",
        action="append",
        choices=sorted(VARIANTS),
        default=[],
        help="experiment: run our app with an overhead removed (bench/ours_variants.py); repeatable",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON results file")
    parser.add_argument(
        "--ours-env",
        action="append",
        default=[],
        metavar="TECHMARKET_NAME=VALUE",
        help="experiment: extra setting for our server only, e.g. TECHMARKET_DATABASE_MAX_OVERFLOW=30; repeatable",
    )
    args = parser.parse_args()
    for item in args.ours_env:
        if not item.startswith("TECHMARKET_") or "=" not in item:
            parser.error(f"--ours-env takes TECHMARKET_NAME=VALUE, not {item!r}")
    if not 0 < args.duration <= 120 or not 0 <= args.warmup <= 30 or not 1 <= args.rounds <= 5:
        parser.error("bounded runs only: 0 < --duration <= 120, 0 <= --warmup <= 30, 1 <= --rounds <= 5")
    if not 1 <= args.connections <= 512:
        parser.error("--connections must be between 1 and 512")
    if (args.variant or args.ours_env) and args.output == RESULTS:
        tag = "+".join(sorted(set(args.variant)) + [item.removeprefix("TECHMARKET_").lower() for item in args.ours_env])
        args.output = RESULTS.with_name(f"organisation_get.{tag}.json")
    return args


def _terminate_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, _terminate_on_signal)
    kind = load_generator() if args.loadgen == "auto" else args.loadgen
    if kind == "wrk" and not shutil.which("wrk"):
        print("wrk is not installed (apt-get install wrk); use --loadgen python", file=sys.stderr)
        return 2

    work_dir = Path(tempfile.mkdtemp(prefix="techmarket-bench-"))
    # Registered before the embedded server's own atexit hook, so it runs after it (stop, then delete).
    atexit.register(remove_work_dir, work_dir)
    print(f"setting up: embedded PostgreSQL in {work_dir}, migrations, demo data …", flush=True)
    fixture = prepare_database(work_dir, args.caller)
    path = f"/v1/organisations/{fixture.organisation_id}"

    env = {key: value for key, value in os.environ.items() if not key.startswith("TECHMARKET_")}
    env |= {
        "TECHMARKET_DATABASE_URL": fixture.database_url,
        "TECHMARKET_SECRET_KEY": DEVELOPMENT_SECRET,
        "TECHMARKET_RUN_WORKER_IN_PROCESS": "false",
        "TECHMARKET_LOG_LEVEL": "WARNING",
        "TECHMARKET_DATA_DIR": str(work_dir / "unused-data-dir"),
        "BASELINE_POOL_SIZE": str(Settings().database_pool_size),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    ours_port, baseline_port = free_ports(2)
    if args.variant:
        env["BENCH_VARIANTS"] = ",".join(args.variant)
        ours_app = ["bench.ours_variants:create_app", "--factory"]
    else:
        ours_app = ["services.marketplace.app:create_app", "--factory"]
    experiment = bool(args.variant or args.ours_env)
    ours_env = dict(item.split("=", 1) for item in args.ours_env)
    ours = Server("ours (variant)" if experiment else "ours (FastAPI+SQLA)", ours_app, ours_port, ours_env)
    baseline = Server("baseline (Starlette)", ["bench.baseline_app:app"], baseline_port)
    servers = [ours, baseline]
    try:
        for server in servers:
            server.start(env, work_dir)
        bodies = {server.name: wait_until_ready(server, path, fixture.token) for server in servers}
        time.sleep(0.5)
        for server in servers:
            server.ensure_alive()
        ours_json, baseline_json = json.loads(bodies[ours.name]), json.loads(bodies[baseline.name])
        if ours_json != baseline_json:
            print(f"response bodies differ:\n  ours:     {ours_json}\n  baseline: {baseline_json}", file=sys.stderr)
            return 2
        identical = "byte-identical" if bodies[ours.name] == bodies[baseline.name] else "equal as JSON"

        settings = Settings(**{key.removeprefix("TECHMARKET_").lower(): value for key, value in ours_env.items()})
        print(
            f"\nGET {path} as the demo {'platform admin' if args.caller == 'admin' else 'member'} "
            f"({len(bodies[ours.name])} B response, bodies {identical})\n"
            f"load: {kind}, {args.connections} keep-alive connections, {args.duration:g}s x {args.rounds} rounds per "
            f"server after {args.warmup:g}s warm-up, servers loaded one at a time, order alternating\n"
            f"servers: uvicorn {' '.join(uvicorn_options())}, one process each, on {LOOPBACK}; "
            f"our request logs OFF (TECHMARKET_LOG_LEVEL=WARNING), outbox worker off\n"
            f"pools: ours SQLAlchemy pool_size={settings.database_pool_size} "
            f"max_overflow={settings.database_max_overflow} pre_ping=True; "
            f"baseline asyncpg min=max={env['BASELINE_POOL_SIZE']}; {os.cpu_count()} CPUs shared by all\n"
            + (
                f"EXPERIMENT, not our real configuration: ours with {', '.join(args.variant + args.ours_env)}\n"
                if experiment
                else ""
            ),
            flush=True,
        )
        if args.warmup > 0:
            for server in servers:
                run_load(kind, server.url(path), fixture.token, args.warmup, args.connections)

        runs: dict[str, list[dict[str, Any]]] = {server.name: [] for server in servers}
        for round_index in range(args.rounds):
            order = servers if round_index % 2 == 0 else list(reversed(servers))
            for server in order:
                result = measure(kind, server, path, fixture, args.duration, args.connections)
                server.ensure_alive()
                runs[server.name].append(result)
                print(
                    f"  round {round_index + 1} {server.name:<22} {result['rps']:>9,.0f} req/s  "
                    f"p50 {result['p50_ms']:.2f} ms  p99 {result['p99_ms']:.2f} ms  "
                    f"non-200 {result['non_200']}  socket errors {result['socket_errors']}",
                    flush=True,
                )

        summary = {name: summarise(server_runs) for name, server_runs in runs.items()}
        ratio = summary[ours.name]["rps"] / summary[baseline.name]["rps"]
        per_round = [o["rps"] / b["rps"] for o, b in zip(runs[ours.name], runs[baseline.name], strict=True)]
        print(f"\nmean of {args.rounds} round(s) of {args.duration:g}s:\n")
        print_table([(name, row) for name, row in summary.items()])
        verdict = "MET" if ratio >= TARGET_RATIO else "NOT MET"
        print(
            f"\nthroughput ratio ours/baseline: {ratio:.2f} (per round: {', '.join(f'{r:.2f}' for r in per_round)})"
            f"  target >= {TARGET_RATIO}: {verdict}"
        )
        errors = sum(row["errors"] for row in summary.values())

        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(
            json.dumps(
                {
                    "benchmark": "organisation_get",
                    "path_template": "/v1/organisations/{organisation_id}",
                    "caller": args.caller,
                    "variants": args.variant,
                    "ours_env": ours_env,
                    "load_generator": kind,
                    "connections": args.connections,
                    "duration_s": args.duration,
                    "rounds": args.rounds,
                    "uvicorn": uvicorn_options(),
                    "cpus": os.cpu_count(),
                    "summary": summary,
                    "runs": runs,
                    "ratio_throughput": round(ratio, 3),
                    "ratio_per_round": [round(r, 3) for r in per_round],
                    "target_ratio": TARGET_RATIO,
                    "unix_time": int(time.time()),
                },
                indent=2,
                ensure_ascii=False,
            )
            + "\n",
            encoding="utf-8",
        )
        print(f"results written to {display(args.output)}")

        if args.profile:
            profile_ours(kind, ours, path, fixture, args.duration, args.connections, args.output.parent)

        if errors:
            print(f"\nFAILED: {errors} response(s) were not 200 or failed at the socket level", file=sys.stderr)
            return 1
        return 0
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"benchmark set-up or run failed: {exc}", file=sys.stderr)
        return 2
    finally:
        for server in servers:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
