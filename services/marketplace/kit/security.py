"""Response security headers and CORS, both driven by the settings (pure ASGI, no body buffering)."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.marketplace.settings import Settings

# An API answer is never a document to render: no scripts, no framing, no plugins.
API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The interactive docs load Swagger UI / ReDoc from their CDN with an inline bootstrap script; only
# development and test serve them by default (``TECHMARKET_DOCS_ENABLED``).
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})

CORS_ALLOWED_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "X-API-Key", "X-Request-ID", "If-Match")
CORS_EXPOSED_HEADERS = ("X-Request-ID", "Retry-After", "Location", "ETag", "Idempotent-Replayed")


class SecurityHeadersMiddleware:
    """Adds the headers every response should carry unless the route already chose its own.

    ``Cache-Control: no-store`` is added to answers of authenticated requests, so personal data never
    lands in a shared cache; ``Strict-Transport-Security`` only when HSTS is enabled (behind TLS).
    """

    def __init__(self, app: ASGIApp, *, hsts_max_age_seconds: int) -> None:
        self.app = app
        self.hsts = f"max-age={hsts_max_age_seconds}; includeSubDomains" if hsts_max_age_seconds > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        authenticated = any(name in (b"authorization", b"x-api-key") for name, _ in scope["headers"])
        is_docs = scope["path"] in DOCS_PATHS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                if not is_docs:
                    headers.setdefault("Content-Security-Policy", API_CONTENT_SECURITY_POLICY)
                if authenticated:
                    headers.setdefault("Cache-Control", "no-store")
                if self.hsts is not None:
                    headers.setdefault("Strict-Transport-Security", self.hsts)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_cors(app: FastAPI, settings: Settings) -> None:
    """CORS only for the configured origins (none by default); credentials travel as headers, never cookies."""
    if settings.cors_allow_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_allow_origins,
            allow_credentials=False,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=list(CORS_ALLOWED_HEADERS),
            expose_headers=list(CORS_EXPOSED_HEADERS),
            max_age=600,
        )
