"""How every Kafka client of CloudMart reaches the brokers: the bootstrap servers and the
security protocol, from the settings, in one place. Locally the broker is plaintext; in AWS the
chart points the clients at MSK's TLS listener (9094) with KAFKA_SECURITY_PROTOCOL=SSL (MSK's
certificates chain to Amazon's public CAs, so the system's trust store verifies them)."""

import ssl
from dataclasses import dataclass
from functools import cache
from typing import Any

from aiokafka.helpers import create_ssl_context

from cloudmart_common.settings import CommonSettings


@cache
def _ssl_context(ca_file: str | None) -> ssl.SSLContext:
    # One context per process: building it reads the whole trust store.
    context: ssl.SSLContext = create_ssl_context(cafile=ca_file)
    return context


@dataclass(frozen=True)
class KafkaConnection:
    bootstrap_servers: str
    security_protocol: str = "PLAINTEXT"
    ssl_ca_file: str | None = None

    @classmethod
    def of(cls, settings: CommonSettings) -> "KafkaConnection":
        return cls(
            settings.kafka_bootstrap_servers,
            settings.kafka_security_protocol,
            settings.kafka_ssl_ca_file,
        )

    def options(self) -> dict[str, Any]:
        """Keyword arguments for any aiokafka client (producer, consumer, admin)."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
        }
        if self.security_protocol == "SSL":
            options["ssl_context"] = _ssl_context(self.ssl_ca_file)
        return options
