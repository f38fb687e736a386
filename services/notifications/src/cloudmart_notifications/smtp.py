"""SMTP connections of the email channel, built from settings."""

import socket
from functools import cache

import aiosmtplib

from cloudmart_common.readiness import DependencyCheck
from cloudmart_notifications.settings import Settings


@cache
def _local_hostname() -> str:
    # aiosmtplib would call socket.getfqdn() (a resolver lookup) on every connection.
    return socket.getfqdn()


def smtp_client(settings: Settings) -> aiosmtplib.SMTP:
    return aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        use_tls=settings.smtp_use_tls,
        start_tls=settings.smtp_start_tls,
        username=settings.smtp_username or None,
        password=settings.smtp_password.get_secret_value() or None,
        timeout=settings.smtp_timeout_seconds,
        local_hostname=_local_hostname(),
    )


def smtp_check(settings: Settings) -> DependencyCheck:
    # Not critical: mail waits in Kafka and the retry queue while the relay is down.
    async def probe() -> None:
        async with smtp_client(settings) as client:
            await client.noop()

    return DependencyCheck("smtp", probe, critical=False)
