# syntax=docker/dockerfile:1
# One image definition for the seven FastAPI services (gateway, users, products, orders,
# notifications, payments, dashboard): they differ only in the workspace package installed.
#
#   docker build -f deploy/docker/service.Dockerfile --build-arg SERVICE=orders -t cloudmart/orders .
#
# Build context: the repository root (.dockerignore keeps .venv, node_modules, .cloudmart out).
# The same image also runs the service's migrations (users, orders, payments):
#   docker run --rm -e DATABASE_URL=... cloudmart/orders alembic -c services/orders/alembic.ini upgrade head

# --- uv, the workspace's installer (same version as local/install.sh) -----------------------
FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

# --- the web UI (served by the gateway at /) ------------------------------------------------
# Node 20 as on the laptops that build it today (`make up`). Built once and cached: every
# service image carries the ~1 MB dist, only the gateway serves it (WEB_DIST_DIR).
FROM node:20.20.2-bookworm-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# --- builder: the service's virtualenv, non-editable, with compiled bytecode -----------------
FROM python:3.11.14-slim-bookworm AS builder
ARG SERVICE
COPY --from=uv /uv /usr/local/bin/uv
# The venv links to this interpreter; the final stage has the same one at the same path.
ENV UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy
WORKDIR /app
# Third-party dependencies first (only the lock and the root pyproject): this layer survives
# code changes. --frozen installs exactly uv.lock without needing the other members' sources.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    test -n "${SERVICE}" \
    && uv sync --frozen --no-dev --no-editable --no-install-workspace --package "cloudmart-${SERVICE}"
COPY libs/common libs/common
COPY services/${SERVICE} services/${SERVICE}
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package "cloudmart-${SERVICE}"
# Alembic's ini (users, orders, payments) at the path the migration command names; the
# migration scripts themselves ship inside the package (script_location = cloudmart_<name>:migrations).
RUN mkdir -p "/out/services/${SERVICE}" \
    && if [ -f "services/${SERVICE}/alembic.ini" ]; then \
         cp "services/${SERVICE}/alembic.ini" "/out/services/${SERVICE}/"; \
       fi

# --- the runtime image ------------------------------------------------------------------------
FROM python:3.11.14-slim-bookworm
ARG SERVICE
LABEL org.opencontainers.image.title="cloudmart-${SERVICE}" \
      org.opencontainers.image.description="CloudMart ${SERVICE} service"
# A fixed uid/gid (10001) so Kubernetes' runAsUser/fsGroup and volume ownership agree.
# /var/lib/cloudmart/jwt-keys: where a volume with the users service's signing keys mounts
# (a fresh named volume takes this directory's owner, so uid 10001 can write the first key).
RUN groupadd --system --gid 10001 cloudmart \
    && useradd --system --no-log-init --uid 10001 --gid cloudmart \
         --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin cloudmart \
    && install -d -o 10001 -g 10001 -m 0700 /var/lib/cloudmart/jwt-keys
# Read-only root file system: bytecode is compiled at build time and never written at run
# time; the only writable place a service may need is /tmp (an emptyDir / tmpfs).
ENV SERVICE=${SERVICE} \
    PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    WEB_DIST_DIR=/app/web/dist
WORKDIR /app
COPY --from=builder /app/.venv /app/.venv
COPY --from=builder /out/ /app/
COPY --from=web /web/dist /app/web/dist
USER 10001:10001
EXPOSE 8080
# slim has no curl: the interpreter is there anyway. urlopen raises on anything but 2xx.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=2)"]
# Keep-alive 75 s: longer than the ALB's 60 s idle timeout and the callers' pools, or the
# server's close races a client's next request (ADR 0017).
# sh only expands the module name, then `exec` makes uvicorn PID 1: it gets SIGTERM directly
# and drains for up to 10 s (terminationGracePeriodSeconds must be longer).
CMD ["sh", "-c", "exec uvicorn --factory \"cloudmart_${SERVICE}.app:create_app\" --host 0.0.0.0 --port 8080 --no-access-log --no-server-header --timeout-graceful-shutdown 10 --timeout-keep-alive 75"]
