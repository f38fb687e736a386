# syntax=docker/dockerfile:1
# pgbouncer between the services and RDS in the cluster (deploy/helm/cloudmart, pgbouncer.*), the
# same program and settings as the local stack's (local/conf/pgbouncer.ini): Debian's package.
#
#   docker build -f deploy/docker/pgbouncer.Dockerfile -t cloudmart/pgbouncer deploy/docker
FROM debian:12.11-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends pgbouncer=1.18.0-1+deb12u1 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 cloudmart \
    && useradd --system --no-log-init --uid 10001 --gid cloudmart \
         --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin cloudmart
# The configuration and the user list are mounted (a ConfigMap and a Secret); nothing is written
# but the pid file, under /tmp.
USER 10001:10001
EXPOSE 5432
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/5432"]
ENTRYPOINT ["/usr/sbin/pgbouncer"]
CMD ["/etc/pgbouncer/pgbouncer.ini"]
