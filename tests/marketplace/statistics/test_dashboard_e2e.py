"""End to end: the real app under uvicorn on loopback, the dashboard in headless Chromium, and every figure on
the rendered page equal to what ``GET /v1/statistics/dashboard`` answers. A screenshot is kept as an artifact
(``$TEST_ARTIFACTS_DIR``, default ``test-artifacts/``)."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.marketplace.kit.money import split_largest_remainder
from services.marketplace.kit.timeutil import shanghai_date, utcnow
from services.marketplace.models.identity import OrganisationKind, Role
from services.marketplace.statistics.definitions import party_in
from tests.marketplace.statistics.test_definitions import amendment, party, record, registration
from tests.support import Actors

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = shutil.which("chromium")
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR") or ROOT / "test-artifacts")
HEFEI = "3401"
# 1,234.565 亿元: half-up gives 1,234.57, which the page must compute exactly from the fen string.
GROSS_FEN = 12_345_650_000_000
PLACES = [
    *["340104"] * 6,
    *["340111"] * 5,
    *["340103", "340102", "340123", "340122", "340181", "340121"] * 2,
    "340202",
    "340302",
    "341102",
    "320102",
    "310104",
    "330106",
    "440305",
    "110108",
    "510107",
    None,
]
TYPES = ["service", "service", "development", "development", "transfer", "license", "consulting"]
FIELDS = [
    "electronic_information",
    "advanced_manufacturing",
    "new_energy",
    "high_tech_services",
    "new_materials",
    "biomedicine",
    "resources_environment",
    "aerospace",
]
NATURES = ["enterprise", "enterprise", "enterprise", "university", "research_institute", "other"]

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary on PATH (Debian: apt-get install chromium); dashboard e2e skipped"
)


# ------------------------------------------------------------------------------------------------ facts


def sides_inside(payload: dict[str, Any]) -> int:
    seller, buyer = payload["seller"], payload["buyer"]
    return int(party_in(HEFEI, seller["region_code"], seller["country_code"])) + int(
        party_in(HEFEI, buyer["region_code"], buyer["country_code"])
    )


def random_party(rng: random.Random) -> dict[str, Any]:
    region = rng.choice(PLACES)
    return party(region, rng.choice(NATURES), None if region else rng.choice(["DE", "US", "JP"]))


def random_registration(rng: random.Random, on: date, amount: int, **extra: Any) -> dict[str, Any]:
    return registration(
        random_party(rng),
        random_party(rng),
        on,
        amount,
        amount - rng.randint(0, amount // 4),
        contract_type=rng.choice(TYPES),
        field_code=rng.choice(FIELDS),
        **extra,
    )


def year_of_facts(today: date) -> list[dict[str, Any]]:
    """This year up to today, summing to GROSS_FEN for Hefei (outbound contracts make up the rest), and last year."""
    rng = random.Random(20261127)
    days = [date(today.year, month, 1) for month in range(1, today.month + 1)]
    this_year = []
    for index in range(40):
        first = rng.choice(days)
        on = first.replace(day=rng.randint(1, today.day if first.month == today.month else 28))
        linked = index % 5 == 0
        this_year.append(
            random_registration(
                rng,
                on,
                rng.randint(5 * 10**9, 2 * 10**11),
                achievement_id=str(uuid.uuid4()) if linked else None,
                local_conversion=linked,
                local_conversion_academic=linked and index % 10 == 0,
            )
        )
    inside = registration(party("340104"), party("340111"), today, 3 * 10**10, contract_type="development")
    this_year += [inside, amendment(inside, today, -1_000_001)]
    gross = sum(
        (item.get("contract_amount_delta_fen") or item["contract_amount_fen"]) * sides_inside(item)
        for item in this_year
    )
    assert 0 < gross < GROSS_FEN, gross
    outbound = ["440305", "320102", "340202", "110108", None]
    for place, amount in zip(outbound, split_largest_remainder(GROSS_FEN - gross, [5, 4, 3, 2, 1]), strict=True):
        buyer = party(place, country=None if place else "SG")
        this_year.append(registration(party("340111"), buyer, rng.choice(days), amount, amount))
    last_year = [
        random_registration(
            rng, date(today.year - 1, rng.randint(1, 12), rng.randint(1, 28)), rng.randint(10**10, 3 * 10**11)
        )
        for _ in range(45)
    ]
    return this_year + last_year


# ------------------------------------------------------------------------------------------------- page


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(child if isinstance(child, str) else child.text() for child in self.children)

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.walk()

    def all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        """Elements below and including this one with the tag and attributes given (``data_x`` is ``data-x``)."""
        wanted = {name.replace("_", "-"): value for name, value in attrs.items()}
        return [
            node
            for node in self.walk()
            if (tag is None or node.tag == tag) and all(node.attrs.get(k) == v for k, v in wanted.items())
        ]

    def one(self, tag: str | None = None, **attrs: str) -> Node:
        found = self.all(tag, **attrs)
        assert len(found) == 1, f"{attrs}: {len(found)} elements"
        return found[0]


class DomBuilder(HTMLParser):
    VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"})

    def __init__(self) -> None:
        super().__init__()
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = DomBuilder()
    builder.feed(html)
    return builder.root


def decimal_text(value: str | None) -> str:
    """What the page shows for a decimal from the API: half up to 2 places, grouped, trailing zeros dropped."""
    if value is None:
        return "—"
    rounded = Decimal(value).quantize(Decimal("0.01"), ROUND_HALF_UP)
    text = f"{abs(rounded):,.2f}".rstrip("0").rstrip(".")
    return f"-{text}" if rounded < 0 else text


def signed_percent(value: str | None) -> str:
    if value is None:
        return "—"
    text = decimal_text(value)
    return f"{text}%" if text.startswith("-") or text == "0" else f"+{text}%"


def yi_text(figure: dict[str, Any]) -> str:
    text: str = figure["contract_amount_yi"]
    return text.removesuffix(" 亿元")


# ----------------------------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served_app(app: FastAPI, database_url: str, tmp_path: Path) -> Iterator[str]:
    """The real app under uvicorn on a free loopback port, on the test's database, worker off."""
    port = free_port()
    env = os.environ | {
        "TECHMARKET_DATABASE_URL": database_url,
        "TECHMARKET_RUN_WORKER_IN_PROCESS": "false",
        "TECHMARKET_ENVIRONMENT": "test",
        "TECHMARKET_LOG_JSON": "false",
        "TECHMARKET_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "uvicorn", "services.marketplace.app:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"]
    log_path = tmp_path / "uvicorn.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _healthy(base_url):
            assert server.poll() is None, log_path.read_text(errors="replace")
            assert time.monotonic() < deadline, "uvicorn did not start: " + log_path.read_text(errors="replace")
            time.sleep(0.1)
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def _healthy(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def chromium(url: str, *action: str, budget_ms: int = 8000) -> str:
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory(prefix="techmarket-chromium-") as profile:
        completed = subprocess.run(  # noqa: S603 - our own loopback URL
            [
                CHROMIUM,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                "--no-first-run",
                f"--user-data-dir={profile}",
                f"--virtual-time-budget={budget_ms}",
                "--window-size=1920,1080",
                *action,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed.stdout


def take_screenshot(url: str) -> int:
    """The page as a projector shows it, kept as a test artifact; returns its size in bytes."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / "dashboard.png"
    screenshot.unlink(missing_ok=True)
    chromium(url, f"--screenshot={screenshot}")
    return screenshot.stat().st_size


# ------------------------------------------------------------------------------------------------- test


async def test_the_dashboard_shows_the_apis_figures_in_chromium(app: FastAPI, actors: Actors, served_app: str) -> None:
    today = shanghai_date(utcnow())
    await record(app, *year_of_facts(today))
    token = actors["official"].token
    async with httpx.AsyncClient(base_url=served_app) as http:
        answer = (await http.get("/v1/statistics/dashboard", headers=actors["official"].headers)).json()
    hefei, totals = answer["hefei"], answer["hefei"]["totals"]
    assert answer["year"] == today.year
    assert totals["gross"]["contract_amount_fen_text"] == str(GROSS_FEN)

    url = f"{served_app}/dashboard?token={token}"
    page = parse(await asyncio.to_thread(chromium, url, "--dump-dom"))
    assert await asyncio.to_thread(take_screenshot, url) > 50_000

    def figure(name: str) -> str:
        return page.one(data_figure=name).text().strip()

    assert page.one(id="status-text").attrs["data-state"] == "ok", page.one(id="status-text").text()
    assert figure("gross-amount-yi") == "1,234.57" == yi_text(totals["gross"])
    assert page.one(data_figure="gross-amount-yi").attrs["data-fen"] == str(GROSS_FEN)
    for side in ("exported", "absorbed", "union"):
        assert figure(f"{side}-amount-yi") == yi_text(totals[side])
        assert page.one(data_figure=f"{side}-amount-yi").attrs["data-fen"] == totals[side]["contract_amount_fen_text"]
        assert figure(f"{side}-count") == f"{totals[side]['contract_count']:,}"
    assert figure("gross-count") == f"{totals['gross']['contract_count']:,}"
    assert (
        page.one(data_figure="gross-technology-yi").attrs["data-fen"] == totals["gross"]["technology_amount_fen_text"]
    )
    assert figure("achievements-converted") == str(hefei["achievements_converted"]) == "8"
    assert figure("local-conversions") == str(hefei["local_conversion"]["all"])

    headline = next(item for item in answer["indicators"] if item["code"] == "tech_contract_absorbed_exported")
    assert figure("gauge-value-yi") == decimal_text(headline["value"]) == "1,234.57"
    assert figure("gauge-target-yi") == decimal_text(headline["target"])
    assert figure("gauge-percent") == decimal_text(headline["percent_of_target"])

    cumulative = 0
    for month in range(1, 13):
        row = page.one(data_month=str(month))
        cumulative += int(hefei["months"][str(month)]["gross"]["contract_amount_fen_text"])
        shown = row.one(data_side="this-year").text()
        assert shown == (str(cumulative) if month <= today.month else "")
    assert cumulative == GROSS_FEN

    for dimension, values in hefei["breakdowns"].items():
        if dimension == "seller_kind":
            continue  # in the export, not on the dashboard
        block = page.one(data_breakdown=dimension)
        shown = {row.attrs["data-value"]: row for row in block.all() if "data-value" in row.attrs}
        assert set(shown) == set(values), dimension
        for value, sides in values.items():
            assert shown[value].one(data_side="gross").text() == yi_text(sides["gross"]), (dimension, value)
            assert shown[value].one(data_side="exported").text() == yi_text(sides["exported"])
    assert page.one(data_breakdown="district").one(data_value="340104").one("th").text() == "蜀山区"
    assert page.one(data_breakdown="counterpart").one(data_value="abroad").one("th").text() == "境外"

    rows = {row.attrs["data-indicator"]: row for row in page.all() if "data-indicator" in row.attrs}
    assert set(rows) == {item["code"] for item in answer["indicators"]}
    for item in answer["indicators"]:
        row = rows[item["code"]]
        assert row.one(data_field="value").attrs.get("data-raw") == item["value"]
        assert row.one(data_field="value").text() == decimal_text(item["value"])
        assert row.one(data_field="target").text() == decimal_text(item["target"])
        percent = item["percent_of_target"]
        assert row.one(data_field="percent").text() == ("—" if percent is None else f"{decimal_text(percent)}%")
        assert row.one(data_field="growth").text() == signed_percent(item["growth_on_previous_year"])
        required = item["required_annual_growth"]
        assert row.one(data_field="required").text() == ("—" if required is None else f"{decimal_text(required)}%")


async def test_without_a_token_the_page_asks_officials_to_log_in(served_app: str) -> None:
    page = parse(await asyncio.to_thread(chromium, f"{served_app}/dashboard", "--dump-dom", budget_ms=3000))
    assert "hidden" not in page.one(id="login").attrs
    assert "hidden" in page.one(id="board").attrs


async def test_a_kiosk_shows_the_dashboard_with_a_read_only_api_key(
    app: FastAPI, client: httpx.AsyncClient, actors: Actors, served_app: str
) -> None:
    await record(app, registration(party("340104"), party("440305"), shanghai_date(utcnow()), 123_456_789_012))
    await actors.add_organisation(
        "science_bureau", OrganisationKind.government, {"bureau_admin": [Role.org_admin, Role.official]}
    )
    created = await client.post(
        "/v1/api-keys",
        json={"name": "大厅大屏", "scopes": ["read"], "roles": ["official"]},
        headers=actors["bureau_admin"].headers,
    )
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    assert key.startswith("tmk_")
    page = parse(await asyncio.to_thread(chromium, f"{served_app}/dashboard?token={key}", "--dump-dom"))
    assert page.one(id="status-text").attrs["data-state"] == "ok"
    assert page.one(data_figure="exported-amount-yi").text() == "12.35"
