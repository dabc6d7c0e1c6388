"""The load test scenario: people using the market, as locust users (run by ``bench/load/run.py``).

Configuration comes from the runner through the environment:

* ``BENCH_LOAD_ACCOUNTS`` — JSON file of accounts by kind (``bench/load/actors.py`` creates them);
* ``BENCH_LOAD_PLAN`` — JSON: ``{"steps": [{"users", "spawn_rate", "settle", "measure"}], "find_max": bool,
  "p99_ms": 200, "results": "path.json"}``.

The load shape walks through the steps: ramp to ``users`` (new users log in while ramping), wait ``settle``
seconds, then record every request for ``measure`` seconds. Latencies are kept raw per step, so the runner
reports exact percentiles of the measured windows only (ramp-up and logins excluded). With ``find_max`` the
shape stops after the first step whose p99 is at or above ``p99_ms`` or that had an error.

Every request is one a real client would send with valid data; any non-2xx answer, or a 2xx whose body is
not what the scenario expects, is an error. Request names start with the group of ``mix.TARGET_SHARE``.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import random
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlencode

import content
import cpu
import mix
from locust import LoadTestShape, between, events, task
from locust.contrib.fasthttp import FastHttpUser
from locust.env import Environment
from locust.exception import RescheduleTask

logger = logging.getLogger("bench.load")

PLAN: dict[str, Any] = json.loads(os.environ.get("BENCH_LOAD_PLAN", "{}") or "{}")
ACCOUNTS: dict[str, list[dict[str, Any]]] = (
    json.loads(Path(os.environ["BENCH_LOAD_ACCOUNTS"]).read_text()) if os.environ.get("BENCH_LOAD_ACCOUNTS") else {}
)
# Root pids of the bench's other processes (servers, worker, PostgreSQL): CPU used outside them and outside
# this process is someone else's, and a window it disturbed can be measured again.
BENCH_PIDS: list[int] = [pid for pids in json.loads(os.environ.get("BENCH_LOAD_PIDS", "{}")).values() for pid in pids]
content.self_check()
YEAR = datetime.now(UTC).year


def _cpu_snapshot() -> tuple[float, float, float]:
    busy, total = cpu.machine_seconds()
    return cpu.tree_seconds([*BENCH_PIDS, os.getpid()]), busy, total


# ---------------------------------------------------------------------------------------------- recorder


@dataclass
class Window:
    step: int
    users: int
    started: float
    ended: float | None = None
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    cpu_at_start: tuple[float, float, float] = field(default_factory=_cpu_snapshot)
    outside_pct: float = 0.0  # CPU used by other processes of the machine, % of one core
    disturbed: bool = False


class Recorder:
    """Raw latencies of the measured windows; errors everywhere (ramp-up included)."""

    def __init__(self) -> None:
        self.current: Window | None = None
        self.windows: list[Window] = []
        self.errors_outside: dict[str, int] = defaultdict(int)
        self.requests_outside = 0
        self.error_samples: list[dict[str, Any]] = []

    def start(self, step: int, users: int) -> None:
        self.current = Window(step, users, time.time())
        self.windows.append(self.current)

    def stop(self) -> Window:
        assert self.current is not None
        window, self.current = self.current, None
        window.ended = time.time()
        bench, busy, total = _cpu_snapshot()
        bench0, busy0, total0 = window.cpu_at_start
        seconds = window.ended - window.started
        machine_pct = 100 * cpu.cores() * (busy - busy0) / (total - total0) if total > total0 else 0.0
        window.outside_pct = max(0.0, machine_pct - 100 * (bench - bench0) / seconds) if seconds > 0 else 0.0
        return window

    def on_request(self, name: str, response_time: float, exception: BaseException | None) -> None:
        window = self.current
        if window is not None:
            window.latencies[name].append(response_time)
            if exception is not None:
                window.errors[name] += 1
        else:
            self.requests_outside += 1
            if exception is not None:
                self.errors_outside[name] += 1
        if exception is not None and len(self.error_samples) < 50:
            self.error_samples.append({"name": name, "error": str(exception)[:400], "time": time.time()})

    def on_task_error(self, name: str, exception: BaseException) -> None:
        """An exception in a task (an answer whose body is not what the scenario expects): an error, no latency."""
        if self.current is not None:
            self.current.errors[name] += 1
        else:
            self.errors_outside[name] += 1
        if len(self.error_samples) < 50:
            self.error_samples.append({"name": name, "error": repr(exception)[:400], "time": time.time()})

    @staticmethod
    def percentile(values: list[float], fraction: float) -> float:
        ordered = sorted(values)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]

    def summary(self, window: Window) -> dict[str, Any]:
        seconds = (window.ended or time.time()) - window.started
        every = [value for values in window.latencies.values() for value in values]
        errors = sum(window.errors.values())
        return {
            "requests": len(every),
            "rps": len(every) / seconds if seconds > 0 else 0.0,
            "p99_ms": self.percentile(every, 0.99),
            "errors": errors,
        }

    def dump(self, path: Path) -> None:
        path.write_text(
            json.dumps(
                {
                    "windows": [
                        {
                            "step": window.step,
                            "users": window.users,
                            "started": window.started,
                            "ended": window.ended,
                            "latencies_ms": window.latencies,
                            "errors": window.errors,
                            "outside_pct": window.outside_pct,
                            "disturbed": window.disturbed,
                        }
                        for window in self.windows
                    ],
                    "requests_outside_windows": self.requests_outside,
                    "errors_outside_windows": self.errors_outside,
                    "error_samples": self.error_samples,
                },
                ensure_ascii=False,
            )
        )


RECORDER = Recorder()


def _record(request_type: str, name: str, response_time: float, exception: BaseException | None, **_: Any) -> None:
    RECORDER.on_request(name, response_time, exception)


def _task_error(user_instance: Any, exception: BaseException, **_: Any) -> None:
    user = getattr(user_instance, "user", user_instance)
    RECORDER.on_task_error(f"{getattr(user, 'group', '?')} task error {type(exception).__name__}", exception)


def _write_results(environment: Environment, **_: Any) -> None:
    if RECORDER.current is not None:
        RECORDER.stop()
    if PLAN.get("results"):
        RECORDER.dump(Path(PLAN["results"]))


events.request.add_listener(_record)  # type: ignore[no-untyped-call]
events.quitting.add_listener(_write_results)  # type: ignore[no-untyped-call]
events.user_error.add_listener(_task_error)  # type: ignore[no-untyped-call]


# A disturbed step is measured again once other processes stayed under the limit for this long (or after
# PLAN["max_wait"] seconds in any case).
QUIET_SECONDS = 15.0


class SteppedShape(LoadTestShape):
    """Ramp → settle → measure for each step; stop early in find-max mode when a step fails.

    A step that failed while other processes of the machine took more than ``max_outside_pct`` of a core is
    measured again (up to ``retries`` times), after the machine has been quiet for ``QUIET_SECONDS``.
    """

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.steps: list[dict[str, Any]] = PLAN.get("steps", [])
        self.index = 0
        self.phase = "ramp"
        self.since = 0.0
        self.retries = 0
        self.quiet_since = 0.0
        self.last_cpu = _cpu_snapshot()
        self.last_cpu_at = time.monotonic()

    def _outside_now(self, now: float) -> float:
        """Other processes' CPU since the previous tick, % of one core."""
        bench, busy, total = _cpu_snapshot()
        bench0, busy0, total0 = self.last_cpu
        seconds = now - self.last_cpu_at
        self.last_cpu, self.last_cpu_at = (bench, busy, total), now
        if seconds <= 0 or total <= total0:
            return 0.0
        return max(0.0, 100 * cpu.cores() * (busy - busy0) / (total - total0) - 100 * (bench - bench0) / seconds)

    def tick(self) -> tuple[int, float] | None:
        if self.index >= len(self.steps):
            return None
        step = self.steps[self.index]
        now = time.monotonic()
        outside = self._outside_now(now)
        if self.phase == "wait_quiet":
            if outside > PLAN.get("max_outside_pct", float("inf")):
                self.quiet_since = now
            if now - self.quiet_since >= QUIET_SECONDS or now - self.since >= PLAN.get("max_wait", 300):
                self.phase, self.since = "settle", now
        elif self.phase == "ramp" and self.runner is not None and self.runner.user_count >= step["users"]:
            self.phase, self.since = "settle", now
        elif self.phase == "settle" and now - self.since >= step["settle"]:
            self.phase, self.since = "measure", now
            RECORDER.start(self.index, step["users"])
        elif self.phase == "measure" and now - self.since >= step["measure"]:
            window = RECORDER.stop()
            summary = RECORDER.summary(window)
            logger.warning(
                "step %d: %d users, %.1f req/s, p99 %.0f ms, %d errors; other processes used %.0f%% of a core",
                self.index + 1,
                step["users"],
                summary["rps"],
                summary["p99_ms"],
                summary["errors"],
                window.outside_pct,
            )
            failed = summary["errors"] > 0 or summary["p99_ms"] >= PLAN.get("p99_ms", 200)
            window.disturbed = window.outside_pct > PLAN.get("max_outside_pct", float("inf"))
            if failed and window.disturbed and self.retries < PLAN.get("retries", 0):
                self.retries += 1
                logger.warning("step %d failed while the machine was busy: measuring it again", self.index + 1)
                self.phase, self.since, self.quiet_since = "wait_quiet", now, now
                return step["users"], step["spawn_rate"]
            self.retries = 0
            self.index += 1
            self.phase = "ramp"
            if (failed and PLAN.get("find_max")) or self.index >= len(self.steps):
                return None
            step = self.steps[self.index]
        return step["users"], step["spawn_rate"]


# ---------------------------------------------------------------------------------- shared client state


class AccountPool:
    def __init__(self) -> None:
        self.counters: dict[str, itertools.count[int]] = defaultdict(itertools.count)

    def take(self, kind: str) -> tuple[int, dict[str, Any]]:
        accounts = ACCOUNTS[kind]
        index = next(self.counters[kind])
        if index >= len(accounts):
            logger.warning("more %s users than accounts (%d): sharing accounts", kind, len(accounts))
        return index, accounts[index % len(accounts)]


POOL = AccountPool()
# What the simulated people of one process know about each other, standing in for what they would read in
# their notifications: contracts claimed by a registrar, listings claimed by a reviewer, contact requests
# already sent per organisation, and the state of each negotiation desk.
CLAIMED_CONTRACTS: set[str] = set()
CLAIMED_LISTINGS: set[str] = set()
CONTACT_REQUESTED: set[tuple[str, str]] = set()
SERIAL = itertools.count(1)


@dataclass
class Desk:
    room_id: str | None = None
    rounds: int = 0


DESKS: dict[int, Desk] = defaultdict(Desk)


class Failed(RescheduleTask):
    """The visit cannot go on after a failed request (already counted): the user thinks, then does something else."""


def _query(path: str, params: dict[str, Any] | None) -> str:
    if not params:
        return path
    return f"{path}?{urlencode({k: v for k, v in params.items() if v is not None}, doseq=True)}"


HOSTS = [host for host in os.environ.get("BENCH_LOAD_HOSTS", "").split(",") if host]
_HOST_TURN = itertools.count()


class Person(FastHttpUser):
    abstract = True
    wait_time = between(*mix.WAIT_SECONDS)
    group = "anon"
    account_kind: str | None = None

    def __init__(self, environment: Environment) -> None:
        # Each simulated user keeps to one server process, in turn (an L4 balancer with keep-alive connections).
        if HOSTS:
            self.host = HOSTS[next(_HOST_TURN) % len(HOSTS)]
        super().__init__(environment)

    def on_start(self) -> None:
        self.rng = random.Random()
        self.index = 0
        self.account: dict[str, Any] = {}
        self.access_token = ""
        self.refresh_token = ""
        self.expires_at = 0.0
        if self.account_kind is not None:
            self.index, self.account = POOL.take(self.account_kind)
            self.login()

    # --- authentication ------------------------------------------------------------------------------

    def _store_tokens(self, body: dict[str, Any]) -> None:
        self.access_token = body["access_token"]
        self.refresh_token = body["refresh_token"]
        self.expires_at = time.monotonic() + int(body["expires_in"])

    def login(self) -> None:
        form = urlencode({"username": self.account["email"], "password": self.account["password"]})
        body = self.request(
            "POST",
            "/v1/auth/token",
            "auth POST /v1/auth/token",
            data=form,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            authenticated=False,
        )
        self._store_tokens(body)

    def headers(self) -> dict[str, str]:
        if not self.access_token:
            return {}
        if time.monotonic() > self.expires_at - 120:  # renew two minutes before the 15-minute expiry
            body = self.request(
                "POST",
                "/v1/auth/refresh",
                "auth POST /v1/auth/refresh",
                json={"refresh_token": self.refresh_token},
                authenticated=False,
            )
            self._store_tokens(body)
        return {"Authorization": f"Bearer {self.access_token}"}

    # --- requests ------------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        name: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: str | bytes | None = None,
        headers: dict[str, str] | None = None,
        expect: int = 200,
        authenticated: bool = True,
        idempotent: bool = False,
    ) -> Any:
        all_headers = (self.headers() if authenticated else {}) | (headers or {})
        if idempotent:
            all_headers["Idempotency-Key"] = str(uuid.uuid4())
        with self.client.request(
            method,
            _query(path, params),
            name=name,
            json=json,
            data=cast(Any, data),  # bytes are sent as they are (the stub says str | dict)
            headers=all_headers,
            catch_response=True,
        ) as response:
            if response.status_code != expect:
                response.failure(f"{response.status_code} (expected {expect}): {(response.text or '')[:300]}")
                raise Failed
            response.success()
            if not response.content or not (response.headers.get("content-type") or "").startswith("application/json"):
                return None
            return response.json()

    def get(self, path: str, name: str, **kwargs: Any) -> Any:
        return self.request("GET", path, f"{self.group} GET {name}", **kwargs)

    def post(self, path: str, name: str, **kwargs: Any) -> Any:
        return self.request("POST", path, f"{self.group} POST {name}", **kwargs)

    def patch(self, path: str, name: str, **kwargs: Any) -> Any:
        return self.request("PATCH", path, f"{self.group} PATCH {name}", **kwargs)

    # --- shared page visits -------------------------------------------------------------------------

    def achievement_filters(self) -> dict[str, Any]:
        return self.rng.choice(
            (
                {},
                {},
                {"field_code": self.rng.choice(content.FIELD_CODES)},
                {"region": self.rng.choice(content.REGIONS)},
                {"trl_min": self.rng.randint(4, 7)},
                {"transfer_mode": self.rng.choice(content.TRANSFER_MODES)},
            )
        )

    def browse_achievements(self) -> None:
        page = self.get("/v1/achievements", "/v1/achievements", params={"limit": 20, **self.achievement_filters()})
        items = page["items"]
        if page["next_cursor"] and self.rng.random() < 0.25:
            items = self.get(
                "/v1/achievements", "/v1/achievements (next page)", params={"limit": 20, "cursor": page["next_cursor"]}
            )["items"]
        for item in self.rng.sample(items, min(len(items), self.rng.choice((1, 1, 2)))):
            self.get(f"/v1/achievements/{item['id']}", "/v1/achievements/{id}")

    def browse_demands(self) -> None:
        params = self.rng.choice(({}, {"field_code": self.rng.choice(content.FIELD_CODES)}, {"region": "34"}))
        items = self.get("/v1/demands", "/v1/demands", params={"limit": 20, **params})["items"]
        if items:
            self.get(f"/v1/demands/{self.rng.choice(items)['id']}", "/v1/demands/{id}")

    def search_achievements(self) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"q": self.rng.choice(content.SEARCH_TERMS), "limit": 20}
        if self.rng.random() < 0.3:
            params["facets"] = ["field_code", "transfer_modes", "trl"]
        if self.rng.random() < 0.2:
            params["trl_min"] = self.rng.randint(4, 7)
        hits: list[dict[str, Any]] = self.get("/v1/search/achievements", "/v1/search/achievements", params=params)[
            "hits"
        ]
        if hits and self.rng.random() < 0.6:
            self.get(f"/v1/achievements/{self.rng.choice(hits[:5])['document']['id']}", "/v1/achievements/{id}")
        return hits

    def search_demands(self) -> None:
        params = {"q": self.rng.choice(content.SEARCH_TERMS), "limit": 20}
        hits = self.get("/v1/search/demands", "/v1/search/demands", params=params)["hits"]
        if hits and self.rng.random() < 0.5:
            self.get(f"/v1/demands/{self.rng.choice(hits[:5])['document']['id']}", "/v1/demands/{id}")


# ------------------------------------------------------------------------------------------ anonymous


class AnonymousVisitor(Person):
    """Someone browsing the public market: lists, detail pages, search, related listings, brokers, challenges."""

    group = "anon"
    weight = mix.USER_CLASSES["AnonymousVisitor"][2]

    @task(5)
    def achievements(self) -> None:
        self.browse_achievements()

    @task(2)
    def demands(self) -> None:
        self.browse_demands()

    @task(5)
    def search(self) -> None:
        self.search_achievements()

    @task(1)
    def search_needs(self) -> None:
        self.search_demands()

    @task(1)
    def related(self) -> None:
        items = self.get("/v1/achievements", "/v1/achievements", params={"limit": 20})["items"]
        if items:
            item = self.rng.choice(items)
            self.get(f"/v1/achievements/{item['id']}", "/v1/achievements/{id}")
            self.get(f"/v1/achievements/{item['id']}/matches", "/v1/achievements/{id}/matches")

    @task(1)
    def brokers_and_challenges(self) -> None:
        if self.rng.random() < 0.5:
            self.get("/v1/brokers", "/v1/brokers", params={"limit": 20})
        else:
            self.get("/v1/challenges", "/v1/challenges", params={"limit": 20})

    @task(1)
    def count(self) -> None:
        self.get("/v1/achievements/count", "/v1/achievements/count", params=self.achievement_filters())


# -------------------------------------------------------------------------------------------- firms


class FirmMember(Person):
    """A firm's staff: post demands and submit them for review, search achievements, ask for contacts."""

    group = "firm"
    account_kind = "firm"
    weight = mix.USER_CLASSES["FirmMember"][2]

    def on_start(self) -> None:
        super().on_start()
        self.demands: list[str] = []

    @task(3)
    def post_demand(self) -> None:
        demand = self.post("/v1/demands", "/v1/demands", json=content.demand_body(self.rng, next(SERIAL)), expect=201)
        if self.rng.random() < 0.5:
            self.patch(f"/v1/demands/{demand['id']}", "/v1/demands/{id}", json=content.demand_edit(self.rng))
        if self.rng.random() < 0.8:
            self.post(f"/v1/demands/{demand['id']}/submit", "/v1/demands/{id}/submit")
        self.demands.append(demand["id"])

    @task(4)
    def search(self) -> None:
        hits = self.search_achievements()
        own = self.account["organisation_id"]
        candidates = [hit["document"]["id"] for hit in hits[:5] if hit["document"].get("organisation_id") != own]
        if candidates and self.rng.random() < 0.15:
            listing = self.rng.choice(candidates)
            if (own, listing) not in CONTACT_REQUESTED:
                CONTACT_REQUESTED.add((own, listing))
                self.post(
                    f"/v1/achievements/{listing}/contact-requests",
                    "/v1/achievements/{id}/contact-requests",
                    json={"message": "我司对该成果感兴趣，希望进一步洽谈合作方式。"},
                    expect=201,
                )

    @task(2)
    def matches(self) -> None:
        if not self.demands:
            self.post_demand()
            return
        demand = self.rng.choice(self.demands)
        self.get(f"/v1/demands/{demand}", "/v1/demands/{id} (own)")
        self.get(f"/v1/demands/{demand}/matches", "/v1/demands/{id}/matches")

    @task(1)
    def mine(self) -> None:
        self.get("/v1/demands", "/v1/demands?mine", params={"mine": "true", "limit": 20})

    @task(1)
    def browse(self) -> None:
        self.browse_achievements()


# ------------------------------------------------------------------------------------------- universities


class UniversityMember(Person):
    """A university's technology transfer office: create and polish achievements, submit them, import a batch."""

    group = "univ"
    account_kind = "university"
    weight = mix.USER_CLASSES["UniversityMember"][2]

    def on_start(self) -> None:
        super().on_start()
        self.drafts: list[str] = []
        self.submitted: list[str] = []

    @task(3)
    def create(self) -> None:
        created = self.post(
            "/v1/achievements", "/v1/achievements", json=content.achievement_body(self.rng, next(SERIAL)), expect=201
        )
        self.drafts.append(created["id"])

    @task(3)
    def edit(self) -> None:
        if not self.drafts:
            self.create()
            return
        draft = self.rng.choice(self.drafts)
        self.get(f"/v1/achievements/{draft}", "/v1/achievements/{id} (own)")
        self.patch(f"/v1/achievements/{draft}", "/v1/achievements/{id}", json=content.achievement_edit(self.rng))

    @task(2)
    def submit(self) -> None:
        if not self.drafts:
            self.create()
            return
        draft = self.drafts.pop(self.rng.randrange(len(self.drafts)))
        self.post(f"/v1/achievements/{draft}/submit", "/v1/achievements/{id}/submit")
        self.submitted.append(draft)

    @task(2)
    def mine(self) -> None:
        self.get("/v1/achievements", "/v1/achievements?mine", params={"mine": "true", "limit": 20})

    @task(1)
    def matches(self) -> None:
        own = self.submitted or self.drafts
        if own:
            self.get(f"/v1/achievements/{self.rng.choice(own)}/matches", "/v1/achievements/{id}/matches")

    @task(1)
    def import_batch(self) -> None:
        if self.rng.random() >= 0.25:  # one visit in four of these: an occasional small spreadsheet
            self.get("/v1/achievements/import-template", "/v1/achievements/import-template", params={"format": "csv"})
            return
        boundary = f"bench{uuid.uuid4().hex}"
        csv_file = content.import_csv(self.rng, next(SERIAL), self.rng.randint(3, 12))
        job = self.post(
            "/v1/achievements/import",
            "/v1/achievements/import",
            data=content.multipart("成果导入.csv", csv_file, "text/csv", boundary),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        if job["status"] != "succeeded" or job["failed_rows"]:
            raise AssertionError(f"import job {job['id']} {job['status']}: {job['errors'][:3]}")
        self.get(f"/v1/import-jobs/{job['id']}", "/v1/import-jobs/{id}")


# -------------------------------------------------------------------------------------- negotiations


def _contract_completion(contract: dict[str, Any]) -> dict[str, Any]:
    """What the seller adds to the draft an accepted offer produced, so that both sides can sign it."""
    amount = contract["contract_amount_fen"]
    first = amount * 3 // 10
    today = datetime.now(UTC).date()
    completion: dict[str, Any] = {
        "subject": "许可受让方在其生产基地实施该项技术，提供技术资料和现场指导，达到约定的技术指标。",
        "valid_from": today.isoformat(),
        "valid_until": (today + timedelta(days=3 * 365)).isoformat(),
        "milestones": [
            {"title": "合同生效后首付款", "due_on": str(today + timedelta(days=30)), "amount_fen": first},
            {"title": "技术验收后尾款", "due_on": str(today + timedelta(days=180)), "amount_fen": amount - first},
        ],
    }
    subtype = content.OFFER_SUBTYPES.get(_TRANSFER_MODE_BY_TYPE.get(contract["contract_type"], ""))
    if subtype and not contract.get("contract_subtype"):
        completion["contract_subtype"] = subtype
    if contract.get("broker_id"):
        completion["commission"] = {"mode": "rate", "rate_bp": 300, "payer": "buyer"}
    return completion


_TRANSFER_MODE_BY_TYPE = {"license": "license", "transfer": "transfer", "service": "service"}


class Negotiator(Person):
    """One side of a negotiation desk: desk k pairs the k-th buyer (a firm) with the k-th seller (a university)."""

    abstract = True
    group = "deal"
    side = "buyer"

    @property
    def desk(self) -> Desk:
        return DESKS[self.index]

    def open_offer(self, room_id: str) -> dict[str, Any] | None:
        offers = self.get(f"/v1/deal-rooms/{room_id}/offers", "/v1/deal-rooms/{id}/offers", params={"limit": 5})
        return next((offer for offer in offers["items"] if offer["status"] == "open"), None)

    def make_offer(self, room_id: str, previous: dict[str, Any] | None) -> None:
        if previous is None:
            price, mode = self.rng.randrange(30, 80) * 1_000_000, self.rng.choice(list(content.OFFER_SUBTYPES))
        else:
            step = self.rng.randrange(2, 8) * 1_000_000
            price = previous["price_fen"] + (step if self.side == "buyer" else -step)
            mode = previous["transfer_mode"]
        self.post(
            f"/v1/deal-rooms/{room_id}/offers",
            "/v1/deal-rooms/{id}/offers",
            json={"price_fen": max(price, 1_000_000), "transfer_mode": mode, "terms": "普通许可，三年，分两期付款。"},
            expect=201,
            idempotent=True,
        )
        self.desk.rounds += 1

    def answer(self, room_id: str, offer: dict[str, Any]) -> None:
        """The other side's offer is open: accept after a few rounds, otherwise counter it."""
        if self.desk.rounds >= 3 and self.rng.random() < 0.5:
            self.post(
                f"/v1/deal-rooms/{room_id}/offers/{offer['id']}/accept",
                "/v1/deal-rooms/{id}/offers/{id}/accept",
                expect=201,
                idempotent=True,
            )
        else:
            self.make_offer(room_id, offer)

    def talk(self, room_id: str) -> None:
        self.get(f"/v1/deal-rooms/{room_id}/messages", "/v1/deal-rooms/{id}/messages", params={"limit": 20})
        if self.rng.random() < 0.5:
            self.post(
                f"/v1/deal-rooms/{room_id}/messages",
                "/v1/deal-rooms/{id}/messages",
                json={"body": "关于付款节点和技术验收标准，我方建议再细化一下。"},
                expect=201,
                idempotent=True,
            )

    def contract_step(self, contract_id: str) -> dict[str, Any]:
        """Read the contract and do this side's next step on it, if any."""
        path = f"/v1/contracts/{contract_id}"
        contract: dict[str, Any] = self.get(path, "/v1/contracts/{id}")
        signed = {signature["side"] for signature in contract["signatures"]}
        if contract["status"] == "draft" and self.side == "seller":
            contract = self.patch(path, "/v1/contracts/{id}", json=_contract_completion(contract))
            contract = self.post(f"{path}/request-signatures", "/v1/contracts/{id}/request-signatures")
        if contract["status"] == "awaiting_signatures" and self.side not in signed:
            contract = self.post(f"{path}/sign", "/v1/contracts/{id}/sign", json={"version": contract["version"]})
        elif contract["status"] == "signed" and self.side == "seller":
            contract = self.post(f"{path}/submit", "/v1/contracts/{id}/submit")
        return contract


class BuyerNegotiator(Negotiator):
    account_kind = "buyer"
    side = "buyer"
    weight = mix.USER_CLASSES["BuyerNegotiator"][2]

    def open_room(self) -> None:
        sellers = ACCOUNTS["seller"]
        brokers = ACCOUNTS["broker"]
        seller = sellers[self.index % len(sellers)]
        room = self.post(
            "/v1/deal-rooms",
            "/v1/deal-rooms",
            json={
                "title": f"技术许可洽谈（{next(SERIAL)}）",
                "side": "buyer",
                "counterpart_organisation_id": seller["organisation_id"],
            },
            expect=201,
            idempotent=True,
        )
        broker = brokers[self.index % len(brokers)]
        invitation = {"broker_id": broker["user_id"]}
        self.post(f"/v1/deal-rooms/{room['id']}/brokers", "/v1/deal-rooms/{id}/brokers", json=invitation)
        DESKS[self.index] = Desk(room_id=room["id"])

    @task
    def negotiate(self) -> None:
        room_id = self.desk.room_id
        if room_id is None:
            self.open_room()
            return
        room = self.get(f"/v1/deal-rooms/{room_id}", "/v1/deal-rooms/{id}")
        if room["contract_id"]:
            contract = self.contract_step(room["contract_id"])
            if contract["status"] not in ("draft", "awaiting_signatures", "signed"):
                self.open_room()  # submitted for registration: on to the next deal
            return
        offer = self.open_offer(room_id)
        if offer is None:
            self.make_offer(room_id, None)
        elif offer["side"] == "seller":
            self.answer(room_id, offer)
        else:
            self.talk(room_id)


class SellerNegotiator(Negotiator):
    account_kind = "seller"
    side = "seller"
    weight = mix.USER_CLASSES["SellerNegotiator"][2]

    @task
    def negotiate(self) -> None:
        room_id = self.desk.room_id
        if room_id is None:
            self.get("/v1/deal-rooms", "/v1/deal-rooms", params={"limit": 20})
            return
        room = self.get(f"/v1/deal-rooms/{room_id}", "/v1/deal-rooms/{id}")
        if room["contract_id"]:
            self.contract_step(room["contract_id"])
            return
        offer = self.open_offer(room_id)
        if offer is not None and offer["side"] == "buyer":
            self.answer(room_id, offer)
        else:
            self.talk(room_id)


class Broker(Person):
    """A certified broker invited into negotiations: follows them, advises, checks their record."""

    group = "deal"
    account_kind = "broker"
    weight = mix.USER_CLASSES["Broker"][2]

    @task(3)
    def follow(self) -> None:
        rooms = self.get("/v1/deal-rooms", "/v1/deal-rooms", params={"limit": 10})["items"]
        if not rooms:
            return
        room = self.rng.choice(rooms[:3])
        self.get(f"/v1/deal-rooms/{room['id']}/offers", "/v1/deal-rooms/{id}/offers", params={"limit": 5})
        self.get(f"/v1/deal-rooms/{room['id']}/messages", "/v1/deal-rooms/{id}/messages", params={"limit": 20})
        if room["status"] == "open" and self.rng.random() < 0.5:
            self.post(
                f"/v1/deal-rooms/{room['id']}/messages",
                "/v1/deal-rooms/{id}/messages",
                json={"body": "建议参考同类专利许可的市场价格，首付款比例控制在三成左右。"},
                expect=201,
                idempotent=True,
            )

    @task(1)
    def record(self) -> None:
        self.get(f"/v1/brokers/{self.account['user_id']}", "/v1/brokers/{id}")
        self.get("/v1/contracts", "/v1/contracts", params={"limit": 10})


# ------------------------------------------------------------------------------------- registrars


class Registrar(Person):
    """A technology-contract registrar working through the queue of submitted contracts."""

    group = "registrar"
    account_kind = "registrar"
    weight = mix.USER_CLASSES["Registrar"][2]

    @task(3)
    def register(self) -> None:
        queue = self.get("/v1/contracts", "/v1/contracts?status=submitted", params={"status": "submitted", "limit": 20})
        waiting = [contract["id"] for contract in queue["items"] if contract["id"] not in CLAIMED_CONTRACTS]
        if not waiting:
            return
        contract_id = waiting[-1]  # the oldest on the page
        CLAIMED_CONTRACTS.add(contract_id)
        self.get(f"/v1/contracts/{contract_id}", "/v1/contracts/{id}")
        self.post(f"/v1/contracts/{contract_id}/register", "/v1/contracts/{id}/register")

    @task(1)
    def registered(self) -> None:
        page = self.get(
            "/v1/contracts", "/v1/contracts?status=registered", params={"status": "registered", "limit": 20}
        )
        if page["items"]:
            self.get(f"/v1/contracts/{self.rng.choice(page['items'])['id']}", "/v1/contracts/{id}")


# --------------------------------------------------------------------------------------- officials


class Official(Person):
    """An official watching the statistics: the dashboard, breakdowns by region, indicators, an export now and then."""

    group = "official"
    account_kind = "official"
    weight = mix.USER_CLASSES["Official"][2]

    @task(8)
    def dashboard(self) -> None:
        self.get("/v1/statistics/dashboard", "/v1/statistics/dashboard")

    @task(3)
    def contracts(self) -> None:
        region = self.rng.choice(("3401", "34", "340104", "340111"))
        self.get("/v1/statistics/contracts", "/v1/statistics/contracts", params={"region": region, "year": YEAR})

    @task(2)
    def indicators(self) -> None:
        self.get("/v1/statistics/indicators", "/v1/statistics/indicators")

    @task(1)
    def programme(self) -> None:
        self.get("/v1/statistics/programme", "/v1/statistics/programme")

    @task(1)
    def export(self) -> None:
        if self.rng.random() < 0.1:  # the Excel workbook, rarely
            self.get("/v1/statistics/export.xlsx", "/v1/statistics/export.xlsx", params={"region": "3401"})
        else:
            last_year = {"region": "3401", "year": YEAR - 1}
            self.get("/v1/statistics/contracts", "/v1/statistics/contracts", params=last_year)


# ------------------------------------------------------------------------------ other authenticated


class NotificationReader(Person):
    """A member checking notifications (matches pushed by the worker), their profile and contact requests."""

    group = "other"
    account_kind = "other"
    weight = mix.USER_CLASSES["NotificationReader"][2]

    @task(4)
    def notifications(self) -> None:
        params: dict[str, Any] = {"limit": 20}
        if self.rng.random() < 0.3:
            params["unread"] = "true"
        self.get("/v1/notifications", "/v1/notifications", params=params)
        if self.rng.random() < 0.1:
            self.post("/v1/notifications/read-all", "/v1/notifications/read-all")

    @task(1)
    def me(self) -> None:
        self.get("/v1/users/me", "/v1/users/me")

    @task(1)
    def contact_requests(self) -> None:
        direction = self.rng.choice(("incoming", "outgoing"))
        self.get("/v1/contact-requests", "/v1/contact-requests", params={"direction": direction, "limit": 20})

    @task(1)
    def organisation(self) -> None:
        self.get(f"/v1/organisations/{self.account['organisation_id']}", "/v1/organisations/{id}")


class PlatformReviewer(Person):
    """Platform staff approving submitted achievements and demands."""

    group = "other"
    account_kind = "reviewer"
    weight = mix.USER_CLASSES["PlatformReviewer"][2]

    def review(self, kind: str) -> None:
        queue = self.get(f"/v1/{kind}", f"/v1/{kind}?status=submitted", params={"status": "submitted", "limit": 20})
        waiting = [item["id"] for item in queue["items"] if item["id"] not in CLAIMED_LISTINGS]
        if not waiting:
            return
        listing = waiting[-1]
        CLAIMED_LISTINGS.add(listing)
        self.get(f"/v1/{kind}/{listing}", f"/v1/{kind}/{{id}}")
        self.post(f"/v1/{kind}/{listing}/approve", f"/v1/{kind}/{{id}}/approve")

    @task(3)
    def achievements(self) -> None:
        self.review("achievements")

    @task(1)
    def demands(self) -> None:
        self.review("demands")
