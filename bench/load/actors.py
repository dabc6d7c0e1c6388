"""The cast of the load test, created through the real API as people would be.

The demo platform administrator (from ``techmarket seed``) signs in once and

1. registers organisations the way they register themselves (``POST /v1/organisations``, anonymous, with
   their first administrator), then verifies them (``POST /v1/organisations/{id}/verify``);
2. adds the other users (``POST /v1/organisations/{id}/users`` with an ``Idempotency-Key``), granting the
   roles only platform staff may grant (``official``, ``registrar``, ``platform_admin``);
3. each broker signs in once to file their certification (``PUT /v1/brokers/me``).

Each simulated user of the load test gets an account of its own, so that one login per simulated user stays
within the per-account login limit.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

import httpx

from services.marketplace.kit.uscc import check_character

DEMO_ADMIN = "admin@demo.ahstm.cn"
DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - printed by `techmarket seed`
PASSWORD = "bench-load-password-2026"  # noqa: S105 - accounts of a throw-away database
T = TypeVar("T")
R = TypeVar("R")
USERS_PER_ORGANISATION = 3
BROKERS_PER_AGENCY = 4
# Registration-authority and category characters of the USCC by organisation kind (GB 32100-2015).
USCC_PREFIX = {"university": "12", "enterprise": "91", "transfer_agency": "91", "government": "11"}


@dataclass(frozen=True)
class Account:
    email: str
    password: str
    user_id: str
    organisation_id: str
    roles: tuple[str, ...]


@dataclass
class Cast:
    """Accounts by the locust user class that signs in with them."""

    accounts: dict[str, list[Account]] = field(default_factory=dict)
    # Negotiation desks: desk k is seller_negotiators[k] (a university admin), buyer_negotiators[k] (a firm
    # admin) and brokers[k % len(brokers)].

    def as_json(self) -> dict[str, Any]:
        return {kind: [asdict(account) for account in accounts] for kind, accounts in self.accounts.items()}


class Api:
    def __init__(self, base_url: str) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=60.0)
        self.token = ""

    def close(self) -> None:
        self.client.close()

    def call(self, method: str, path: str, *, token: str | None = None, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        bearer = token if token is not None else self.token
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        response = self.client.request(method, path, headers=headers, **kwargs)
        if response.status_code >= 300:
            raise RuntimeError(f"set-up: {method} {path} answered {response.status_code}: {response.text[:500]}")
        return response.json() if response.content else None

    def login(self, email: str, password: str) -> str:
        response = self.client.post("/v1/auth/token", data={"username": email, "password": password})
        if response.status_code != 200:
            raise RuntimeError(f"set-up: login of {email} answered {response.status_code}: {response.text[:300]}")
        token: str = response.json()["access_token"]
        return token


_serial = itertools.count(1)


def uscc(kind: str) -> str:
    body = f"{USCC_PREFIX[kind]}340104{next(_serial):09d}"
    return body + check_character(body)


@dataclass
class Plan:
    """How many accounts each class of simulated user needs."""

    university: int
    firm: int
    desks: int
    brokers: int
    registrar: int
    official: int
    reviewer: int
    other: int


def _map(function: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``map`` on a few threads: the server hashes a password per account, the client only waits."""
    with ThreadPoolExecutor(6) as pool:
        return list(pool.map(function, items))


class CastBuilder:
    def __init__(self, api: Api, run_id: str) -> None:
        self.api = api
        self.run_id = run_id
        self.emails = itertools.count(1)

    def email(self, label: str) -> str:
        return f"{label}{next(self.emails):05d}.{self.run_id}@bench.example.cn"

    def organisation(self, kind: str, name: str, region_code: str, admin_label: str) -> tuple[str, Account]:
        """Self-registration with the first administrator, then verification by platform staff."""
        email = self.email(admin_label)
        result = self.api.call(
            "POST",
            "/v1/organisations",
            token="",
            json={
                "kind": kind,
                "name": name,
                "uscc": uscc(kind),
                "region_code": region_code,
                "admin": {"email": email, "display_name": f"{name}管理员", "password": PASSWORD},
            },
        )
        organisation_id = result["organisation"]["id"]
        self.api.call("POST", f"/v1/organisations/{organisation_id}/verify")
        admin = result["admin"]
        return organisation_id, Account(email, PASSWORD, admin["id"], organisation_id, tuple(admin["roles"]))

    def user(self, organisation_id: str, label: str, roles: list[str]) -> Account:
        email = self.email(label)
        created = self.api.call(
            "POST",
            f"/v1/organisations/{organisation_id}/users",
            headers={"Idempotency-Key": f"bench-user-{uuid.uuid4()}"},
            json={"email": email, "display_name": label, "password": PASSWORD, "roles": roles},
        )
        return Account(email, PASSWORD, created["id"], organisation_id, tuple(created["roles"]))

    def members_of_new_organisations(
        self, count: int, kind: str, label: str, region_code: str
    ) -> tuple[list[Account], list[str]]:
        """``count`` accounts: organisations of three (their registering administrator plus two members)."""
        organisations = -(-count // USERS_PER_ORGANISATION) if count else 0
        registered = _map(
            lambda index: self.organisation(kind, f"压测{label}{self.run_id}-{index}", region_code, label),
            range(organisations),
        )
        accounts = [admin for _, admin in registered]
        ids = [organisation_id for organisation_id, _ in registered]
        extra = [ids[index % len(ids)] for index in range(count - len(accounts))] if ids else []
        accounts += _map(lambda organisation_id: self.user(organisation_id, label, ["member"]), extra)
        return accounts[:count], ids


def build_cast(base_url: str, plan: Plan, run_id: str) -> Cast:
    api = Api(base_url)
    try:
        api.token = api.login(DEMO_ADMIN, DEMO_PASSWORD)
        builder = CastBuilder(api, run_id)
        cast = Cast()
        me = api.call("GET", "/v1/users/me")
        platform_id = me["organisation_id"]

        members = builder.members_of_new_organisations
        university, university_orgs = members(plan.university, "university", "univ", "340111")
        firm, firm_orgs = members(plan.firm, "enterprise", "firm", "340104")
        cast.accounts["university"] = university
        cast.accounts["firm"] = firm
        # Notification readers: further members of the same universities and firms.
        reader_orgs = [org for pair in itertools.zip_longest(university_orgs, firm_orgs) for org in pair if org]
        cast.accounts["other"] = _map(
            lambda org: builder.user(org, "reader", ["member"]),
            itertools.islice(itertools.cycle(reader_orgs), plan.other),
        )

        # Negotiation desks: a university (seller) and a firm (buyer), each represented by its administrator.
        sellers = _map(
            lambda k: builder.organisation("university", f"压测卖方{run_id}-{k}", "340111", "seller"), range(plan.desks)
        )
        buyers = _map(
            lambda k: builder.organisation("enterprise", f"压测买方{run_id}-{k}", "340104", "buyer"), range(plan.desks)
        )
        cast.accounts["seller"] = [admin for _, admin in sellers]
        cast.accounts["buyer"] = [admin for _, admin in buyers]
        agencies = _map(
            lambda k: builder.organisation("transfer_agency", f"压测技术转移中心{run_id}-{k}", "340103", "agency")[0],
            range(-(-plan.brokers // BROKERS_PER_AGENCY)),
        )
        brokers = _map(
            lambda k: builder.user(agencies[k // BROKERS_PER_AGENCY], "broker", ["broker", "member"]),
            range(plan.brokers),
        )

        def certify(indexed: tuple[int, Account]) -> None:
            index, broker = indexed
            token = api.login(broker.email, broker.password)
            api.call(
                "PUT",
                "/v1/brokers/me",
                token=token,
                json={
                    "certification_number": f"JSJJR-{run_id}-{index:05d}",
                    "field_codes": ["new_energy", "advanced_manufacturing"],
                    "region_codes": ["340100"],
                    "bio": "压测用技术经纪人",
                },
            )

        _map(certify, enumerate(brokers))
        cast.accounts["broker"] = brokers

        government, _ = builder.organisation("government", f"压测科学技术局{run_id}", "340100", "gov")
        cast.accounts["registrar"] = _map(
            lambda _: builder.user(government, "registrar", ["registrar"]), range(plan.registrar)
        )
        cast.accounts["official"] = _map(
            lambda _: builder.user(government, "official", ["official"]), range(plan.official)
        )
        cast.accounts["reviewer"] = _map(
            lambda _: builder.user(platform_id, "reviewer", ["platform_admin"]), range(plan.reviewer)
        )
        return cast
    finally:
        api.close()
