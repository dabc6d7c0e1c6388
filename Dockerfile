# syntax=docker/dockerfile:1
# One image, two processes: `techmarket serve` (default) and `techmarket worker`.
# Build:  docker build -t techmarket .

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder

# uv comes from PyPI so a PyPI mirror (PIP_INDEX_URL) is enough to build behind a firewall.
ARG UV_VERSION=0.13.8
RUN pip install --no-cache-dir --disable-pip-version-check --root-user-action=ignore "uv==${UV_VERSION}"

# The venv is built at its final path: its scripts and the editable .pth record absolute paths.
ENV UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy
WORKDIR /app

# Dependencies first, in their own layer, so a code change does not reinstall them.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project

COPY README.md alembic.ini ./
COPY migrations ./migrations
COPY services ./services
# Editable install: the code stays at /app next to alembic.ini and migrations/, where the CLI finds them.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev \
    && python -m compileall -q services migrations


FROM ${PYTHON_IMAGE} AS runtime

ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TECHMARKET_ENVIRONMENT=production \
    TECHMARKET_DATA_DIR=/var/lib/techmarket

RUN groupadd --system --gid 10001 techmarket \
    && useradd --system --uid 10001 --gid techmarket --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin techmarket \
    && install --directory --owner=techmarket --group=techmarket --mode=0750 /var/lib/techmarket

WORKDIR /app
# Owned by root and read-only for the service user: the process cannot rewrite its own code.
COPY --from=builder /app /app

USER techmarket:techmarket
EXPOSE 8000

# slim has no curl; urlopen raises on connection errors and non-2xx answers, so the exit code is enough.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

CMD ["techmarket", "serve", "--host", "0.0.0.0", "--port", "8000"]
