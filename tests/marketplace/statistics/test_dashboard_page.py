"""The dashboard page and its static files are served by the app, without a CDN and outside the API document."""

from __future__ import annotations

import json
import re

import httpx

from services.marketplace.dashboard.endpoints import STATIC_DIR, static_files

DASHBOARD_DIR = STATIC_DIR.parent


def inlined_labels(page: str) -> dict[str, object]:
    match = re.search(r'<script id="dashboard-labels" type="application/json">(.*?)</script>', page, re.S)
    assert match
    labels: dict[str, object] = json.loads(match.group(1))
    return labels


async def test_the_page_loads_without_login_and_carries_the_chinese_labels(client: httpx.AsyncClient) -> None:
    response = await client.get("/dashboard")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "no-referrer"
    page = response.text
    assert 'data-figure="gross-amount-yi"' in page
    assert "cdn" not in page.lower()
    labels = inlined_labels(page)
    values = labels["values"]
    assert isinstance(values, dict)
    assert values["field"]["advanced_manufacturing"] == "先进制造与自动化"
    assert values["counterpart"] == {
        "same_city": "本市",
        "same_province": "省内其他",
        "yangtze_delta": "长三角",
        "rest_of_china": "国内其他",
        "abroad": "境外",
    }
    assert values["contract_type"]["consulting"] == "技术咨询"
    assert values["district"]["340104"] == "蜀山区"
    for name, (_, digest) in static_files().items():
        if name.endswith((".js", ".css")):
            assert f"/dashboard/static/{name}?v={digest}" in page


async def test_echarts_is_served_from_the_app(client: httpx.AsyncClient) -> None:
    response = await client.get("/dashboard/static/echarts.min.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.content == (STATIC_DIR / "echarts.min.js").read_bytes()
    assert (await client.get("/dashboard/static/echarts.NOTICE.txt")).status_code == 200


async def test_only_the_listed_static_files_are_served(client: httpx.AsyncClient) -> None:
    for name in ("endpoints.py", "..%2Fpage.html", "%2E%2E%2Fendpoints.py", "missing.js"):
        assert (await client.get(f"/dashboard/static/{name}")).status_code == 404


async def test_the_dashboard_is_not_part_of_the_api_document(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert not [path for path in paths if path.startswith("/dashboard")]
    assert "/v1/statistics/export.xlsx" in paths


def test_the_vendored_echarts_is_the_locked_version() -> None:
    lock = json.loads((DASHBOARD_DIR / "package-lock.json").read_text(encoding="utf-8"))
    version = lock["packages"]["node_modules/echarts"]["version"]
    assert (
        json.loads((DASHBOARD_DIR / "package.json").read_text(encoding="utf-8"))["dependencies"]["echarts"] == version
    )
    bundle = (STATIC_DIR / "echarts.min.js").read_text(encoding="utf-8")
    assert f'version="{version}"' in bundle
    assert "Apache License" in (STATIC_DIR / "echarts.LICENSE.txt").read_text(encoding="utf-8")
