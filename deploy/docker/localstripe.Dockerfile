# syntax=docker/dockerfile:1
# localstripe (the Stripe emulator) for docker-compose only: GPL-3.0, run as a separate tool,
# never imported by CloudMart code. Same version as the local stack (local/stripe/requirements.txt).
#
#   docker build -f deploy/docker/localstripe.Dockerfile -t cloudmart/localstripe deploy/docker
FROM python:3.11.14-slim-bookworm
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN python -m venv /opt/localstripe \
    && /opt/localstripe/bin/pip install --no-cache-dir localstripe==1.15.10 \
    && groupadd --system --gid 10001 localstripe \
    && useradd --system --no-log-init --uid 10001 --gid localstripe \
         --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin localstripe
# localstripe keeps its store in memory and pickles it under /tmp (writable, nothing else is).
USER 10001:10001
EXPOSE 8420
# Every Stripe path wants an API key: a TCP connect is the honest liveness check.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/opt/localstripe/bin/python", "-c", "import socket; socket.create_connection(('127.0.0.1', 8420), 2).close()"]
CMD ["/opt/localstripe/bin/localstripe", "--port", "8420"]
