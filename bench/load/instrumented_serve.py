"""``techmarket serve`` with two probes, for ``run.py --instrument`` (an experiment, not how production runs).

* **event-loop lag**: a task asks to wake up every 10 ms and records how late it woke (time the loop spent on
  other work: request handling in Python, or anything blocking it);
* **garbage-collector pauses**: ``gc.callbacks`` time every collection, by generation, in wall time and in
  CPU time of the process (the CPU time does not grow when other processes take the core).

The probes are on when ``BENCH_INSTRUMENT_OUT`` is set (``run.py --instrument``). With
``TECHMARKET_BENCH_GC_DEFAULTS=1`` (``run.py --gc-defaults``) the server keeps CPython's default collector
instead of ``kit/gc_tuning.py``'s: the state before that change, for a before/after comparison.

Both probes are written, with their wall-clock times, to ``$BENCH_INSTRUMENT_OUT`` when the server stops, so the
runner can cut them by measured window. The service code is not changed: the app factory is wrapped.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from services.marketplace import app as app_module
from services.marketplace import cli

TICK_SECONDS = 0.010
LAGS: list[tuple[float, float]] = []  # (wall time, ms late)
PAUSES: list[tuple[float, int, float, float]] = []  # (wall time, generation, ms, CPU ms of the process)
_gc_started = (0.0, 0.0)


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    global _gc_started
    if phase == "start":
        _gc_started = (time.perf_counter(), time.process_time())
    else:
        wall, cpu = _gc_started
        elapsed, used = time.perf_counter() - wall, time.process_time() - cpu
        PAUSES.append((time.time(), int(info["generation"]), 1000 * elapsed, 1000 * used))


async def _watch_loop() -> None:
    loop = asyncio.get_running_loop()
    while True:
        planned = loop.time() + TICK_SECONDS
        await asyncio.sleep(TICK_SECONDS)
        LAGS.append((time.time(), 1000 * max(0.0, loop.time() - planned)))


def _dump() -> None:
    out = os.environ.get("BENCH_INSTRUMENT_OUT")
    if out:
        Path(out).write_text(json.dumps({"pid": os.getpid(), "lags": LAGS, "gc_pauses": PAUSES}))


def _instrumented(create_app: Callable[..., Any]) -> Callable[..., Any]:
    def factory(*args: Any, **kwargs: Any) -> Any:
        application = create_app(*args, **kwargs)
        original = application.router.lifespan_context

        @asynccontextmanager
        async def lifespan(app: Any) -> AsyncIterator[Any]:
            watcher = asyncio.create_task(_watch_loop())
            try:
                async with original(app) as state:
                    yield state
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
                _dump()

        application.router.lifespan_context = lifespan
        return application

    return factory


if __name__ == "__main__":
    if os.environ.get("TECHMARKET_BENCH_GC_DEFAULTS"):
        # Experiment: CPython's default collector, as before services/marketplace/kit/gc_tuning.py.
        setattr(cli, "tune_for_serving", lambda: None)  # noqa: B010
    if os.environ.get("BENCH_INSTRUMENT_OUT"):
        gc.callbacks.append(_on_gc)
        setattr(cli, "create_app", _instrumented(app_module.create_app))  # noqa: B010 - what `serve` calls
    cli.app()
