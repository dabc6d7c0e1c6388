"""CPU accounting for the load test: the processes of the bench, and everything else on the machine.

A process tree's CPU is its root's own time, the time of its descendants still running, and the time of
descendants that exited and were reaped (the kernel adds it to the reaper's ``children_*`` times): so the
PostgreSQL backends that SQLAlchemy's overflow connections start and stop are counted too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import psutil  # type: ignore[import-untyped]


def _seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system + times.children_user + times.children_system)


def tree_seconds(pids: Iterable[int]) -> float:
    """CPU seconds used so far by the process trees rooted at ``pids`` (reaped descendants included)."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(pid)
            total += _seconds(root)
            for child in root.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    total += _seconds(child)
    return total


def machine_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores."""
    times = psutil.cpu_times()
    busy = times.user + times.system + times.nice
    busy += getattr(times, "irq", 0.0) + getattr(times, "softirq", 0.0) + getattr(times, "steal", 0.0)
    return float(busy), float(busy + times.idle + getattr(times, "iowait", 0.0))


def cores() -> int:
    return int(psutil.cpu_count() or 1)
