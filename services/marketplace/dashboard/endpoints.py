"""The officials' dashboard: one HTML page and its static files; the figures come from /v1/statistics/dashboard.

The page itself needs no login (it holds no data); its script asks for a token, or takes ``?token=``
(an access token or a read-scoped API key) for a kiosk or a projector.
"""

from __future__ import annotations

import hashlib
import json
import string
from functools import cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

from services.marketplace.kit.errors import NotFound
from services.marketplace.statistics import labels
from services.marketplace.statistics.indicators import CONTRACT_VALUE, HEFEI

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".txt": "text/plain"}
# The page loads only its own files; the token travels in sessionStorage and never in a Referer header.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
STATIC_CACHE = "public, max-age=86400"

router = APIRouter(include_in_schema=False)


@cache
def static_files() -> dict[str, tuple[Path, str]]:
    """Served file name → (path, content hash for cache-busting URLs); nothing outside this list is served."""
    return {
        path.name: (path, hashlib.sha256(path.read_bytes()).hexdigest()[:12])
        for path in sorted(STATIC_DIR.iterdir())
        if path.is_file() and path.suffix in MEDIA_TYPES
    }


def page_labels() -> dict[str, object]:
    return {
        "region": HEFEI,
        "region_name": labels.region_name(HEFEI.ljust(6, "0")),
        "headline_indicator": CONTRACT_VALUE,
        "dimensions": labels.DIMENSIONS,
        "values": {dimension: labels.value_names(dimension, HEFEI) for dimension in labels.DIMENSIONS},
    }


@cache
def render_page() -> str:
    template = string.Template((HERE / "page.html").read_text(encoding="utf-8"))
    # JSON inside <script>: "<" escaped so that no value can close the element.
    inlined = json.dumps(page_labels(), ensure_ascii=False).replace("<", "\\u003c")
    # ${dashboard_js} etc.: the content hash, so that a new file is fetched although the old one is cached
    versions = {name.replace(".", "_").replace("-", "_"): digest for name, (_, digest) in static_files().items()}
    return template.substitute(labels_json=inlined, **versions)


@router.get("/dashboard")
async def dashboard_page() -> HTMLResponse:
    return HTMLResponse(render_page(), headers=PAGE_HEADERS)


@router.get("/dashboard/static/{name}")
async def dashboard_static(name: str) -> FileResponse:
    served = static_files().get(name)
    if served is None:
        raise NotFound("文件不存在")
    path, _ = served
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers={"Cache-Control": STATIC_CACHE})
