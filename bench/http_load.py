"""A small closed-loop HTTP/1.1 load generator, used by the benchmarks when ``wrk`` is not installed.

Each of ``--connections`` keep-alive connections sends one GET, reads the whole response (status line,
headers, ``Content-Length`` body) and sends the next, until ``--duration`` seconds have passed. Latency is
measured per request from the write to the last body byte. Raw ``asyncio`` streams (on uvloop when
installed), no HTTP client library: httpx would saturate its own core long before the servers do.

It only talks to loopback addresses. Prints one line::

    BENCH_RESULT {"requests": ..., "duration_s": ..., "rps": ..., "p50_ms": ..., "p99_ms": ..., "non_200": ...}

Run it in its own process (the benchmark scripts do), so that it does not share the server's core.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import time
from urllib.parse import urlsplit


def percentile(sorted_values: list[int], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index] / 1e6


class Stats:
    def __init__(self) -> None:
        self.latencies_ns: list[int] = []
        self.non_200 = 0
        self.first_bad_status = 0
        self.socket_errors = 0


async def _connection(host: str, port: int, request: bytes, deadline: float, stats: Stats) -> None:
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    while time.perf_counter() < deadline:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            assert reader is not None
            started = time.perf_counter_ns()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = None
            keep_alive = True
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    keep_alive = False
            if length is None:
                raise ValueError("response without Content-Length")
            await reader.readexactly(length)
            stats.latencies_ns.append(time.perf_counter_ns() - started)
            if status != 200:
                stats.non_200 += 1
                stats.first_bad_status = stats.first_bad_status or status
            if not keep_alive:
                writer.close()
                writer = None
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            stats.socket_errors += 1
            if writer is not None:
                writer.close()
            writer = None
            await asyncio.sleep(0.01)
    if writer is not None:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def run(url: str, headers: list[str], connections: int, duration: float) -> dict[str, float | int]:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    if not ipaddress.ip_address(host).is_loopback:
        raise SystemExit(f"refusing to load a non-loopback address: {host}")
    port = parts.port or 80
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {target} HTTP/1.1", f"Host: {host}:{port}", *headers, "", ""]
    request = "\r\n".join(lines).encode("latin-1")
    stats = Stats()
    started = time.perf_counter()
    deadline = started + duration
    await asyncio.gather(*(_connection(host, port, request, deadline, stats) for _ in range(connections)))
    elapsed = time.perf_counter() - started
    latencies = sorted(stats.latencies_ns)
    return {
        "requests": len(latencies),
        "duration_s": round(elapsed, 6),
        "rps": round(len(latencies) / elapsed, 2),
        "p50_ms": round(percentile(latencies, 0.50), 3),
        "p90_ms": round(percentile(latencies, 0.90), 3),
        "p99_ms": round(percentile(latencies, 0.99), 3),
        "max_ms": round(latencies[-1] / 1e6, 3) if latencies else float("nan"),
        "non_200": stats.non_200,
        "first_bad_status": stats.first_bad_status,
        "socket_errors": stats.socket_errors,
        "timeouts": 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--header", action="append", default=[], help="'Name: value', repeatable")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args()
    if not 0 < args.duration <= 600:
        parser.error("--duration must be in (0, 600] seconds")
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(run(args.url, args.header, args.connections, args.duration))
    else:
        result = uvloop.run(run(args.url, args.header, args.connections, args.duration))
    print("BENCH_RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
