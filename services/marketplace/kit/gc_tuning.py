"""Garbage-collector settings for a long-running API process (``techmarket serve``).

CPython's cyclic collector runs a young collection every 700 net allocations and, now and then, a full one that
walks every tracked object. After start-up a server process holds about 220,000 of them (routes, models,
mappers, schemas) that live as long as the process; under load a full collection then took 150–240 ms of CPU,
several times a minute per process, and stalled every request in flight on that event loop: it was the first
thing to push the 99th percentile over 200 ms in ``bench/load`` (see bench/README.md, "Load test").

``tune_for_serving`` moves what start-up built into the permanent generation (``gc.freeze``, never scanned
again) and lets young collections come less often, so short-lived request objects die before they are promoted.
Measured at 120–240 simulated users: collector CPU 11–33 → 3–10 ms per second per process, longest collection
150–240 → 11–29 ms of CPU; at 240 users (~195 requests/s) the median p99 went from 165 to 102 ms.
"""

from __future__ import annotations

import gc

# Net allocations between young collections (CPython's default is 700), then how many young collections per
# middle one and middle ones per full one (defaults 10 and 10).
SERVING_THRESHOLDS = (10_000, 10, 10)


def tune_for_serving() -> None:
    """Call once the application is built, before serving: freeze the start-up heap, collect less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*SERVING_THRESHOLDS)
