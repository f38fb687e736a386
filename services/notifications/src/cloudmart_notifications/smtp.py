"""SMTP connections of the email channel, built from settings."""

import aiosmtplib

from cloudmart_common.readiness import DependencyCheck
from cloudmart_notifications.settings import Settings


def smtp_client(settings: Settings) -> aiosmtplib.SMTP:
    return aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        use_tls=settings.smtp_use_tls,
        start_tls=settings.smtp_start_tls,
        username=settings.smtp_username or None,
        password=settings.smtp_password.get_secret_value() or None,
        timeout=settings.smtp_timeout_seconds,
    )


def smtp_check(settings: Settings) -> DependencyCheck:
    # Not critical: mail waits in Kafka and the retry queue while the relay is down.
    async def probe() -> None:
        async with smtp_client(settings) as client:
            await client.noop()

    return DependencyCheck("smtp", probe, critical=False)
