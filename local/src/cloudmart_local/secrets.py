"""Local credentials: service client secrets (architecture.md §9), made once, kept in .cloudmart."""

import json
import secrets
from datetime import date
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from cloudmart_common import sealed
from cloudmart_common.settings import local_database_url
from cloudmart_local.layout import (
    DATABASES,
    DYNAMODB_PORT,
    FAULT_PROXIES,
    FLAGD_SYNC_PORT,
    KAFKA_PORT,
    LOCALSTRIPE_PORT,
    PGBOUNCER_PORT,
    REDIS_PORT,
    SECRETS,
    SERVICE_PORTS,
    SMTP_PORT,
    TRACES,
    WEB_DIST,
    replica_name,
    replica_port,
    replica_urls,
    runs,
)

FAULT_FLAG_SERVICES = ("payments", "products", "notifications")
SERVICE_CLIENTS_FILE = SECRETS / "service-clients.json"
JWT_KEYS_DIR = SECRETS / "jwt-keys"
RESET_TOKEN_KEY_FILE = SECRETS / "reset-token.key"
# Which services each one calls (its `<NAME>_URL` settings), beside users for tokens and keys.
CALLS = {"orders": ("users", "products", "payments"), "notifications": ("users",)}


def service_clients() -> dict[str, str]:
    """Client id -> secret of every service; generated on first use, then stable."""
    if SERVICE_CLIENTS_FILE.exists():
        stored: dict[str, str] = json.loads(SERVICE_CLIENTS_FILE.read_text())
        if set(stored) == set(SERVICE_PORTS):
            return stored
    clients = {name: secrets.token_urlsafe(32) for name in SERVICE_PORTS}
    SECRETS.mkdir(parents=True, exist_ok=True)
    SECRETS.chmod(0o700)
    SERVICE_CLIENTS_FILE.write_text(json.dumps(clients, indent=2))
    SERVICE_CLIENTS_FILE.chmod(0o600)
    return clients


def reset_token_key() -> str:
    """The key users seals reset tokens with for notifications; generated once, then stable
    (an event still on Kafka across a restart opens with it)."""
    if not RESET_TOKEN_KEY_FILE.exists():
        SECRETS.mkdir(parents=True, exist_ok=True)
        SECRETS.chmod(0o700)
        RESET_TOKEN_KEY_FILE.write_text(sealed.new_key())
        RESET_TOKEN_KEY_FILE.chmod(0o600)
    return RESET_TOKEN_KEY_FILE.read_text().strip()


def ensure_jwt_signing_key() -> Path:
    """The users service's signing key, made once: tokens stay valid across restarts."""
    JWT_KEYS_DIR.mkdir(parents=True, exist_ok=True)
    JWT_KEYS_DIR.chmod(0o700)
    if not any(JWT_KEYS_DIR.glob("*.pem")):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path = JWT_KEYS_DIR / f"{date.today().isoformat()}.pem"  # names sort by age
        path.write_bytes(pem)
        path.chmod(0o600)
    return JWT_KEYS_DIR


def service_database_url(name: str) -> str:
    """A service's database URL (SQLAlchemy + asyncpg) as the stack gives it: via pgbouncer."""
    url = local_database_url(name).get_secret_value()
    return url.replace(":16432/", f":{PGBOUNCER_PORT}/")


def service_environment(name: str, replica: int = 1) -> dict[str, str]:
    """What a service process gets from the stack: its credentials and where everything is."""
    environment = {
        "PYTHONUNBUFFERED": "1",
        "SERVICE_CLIENT_ID": name,
        "SERVICE_CLIENT_SECRET": service_clients()[name],
        "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{KAFKA_PORT}",
        "DYNAMODB_ENDPOINT_URL": f"http://127.0.0.1:{DYNAMODB_PORT}",
        "STRIPE_API_BASE": f"http://127.0.0.1:{LOCALSTRIPE_PORT}",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(SMTP_PORT),
        # No collector runs here: spans go to a file per process, where tests read them.
        "TRACE_FILE": str(TRACES / f"{replica_name(name, replica)}.jsonl"),
    }
    if name in FAULT_FLAG_SERVICES and runs("flagd"):
        # Fault flags (ADR 0020): only where a named fault lives; elsewhere nothing evaluates.
        environment["FLAGD_HOST"] = "127.0.0.1"
        environment["FLAGD_PORT"] = str(FLAGD_SYNC_PORT)
    if name == "gateway":
        # Locally every client, a whole load test included, is 127.0.0.1: per-address and
        # per-user limits would throttle the benchmarks. The login and reset limits stay.
        environment["RATE_LIMIT_ANONYMOUS"] = "100000/minute"
        environment["RATE_LIMIT_USER"] = "100000/minute"
        environment["WEB_DIST_DIR"] = str(WEB_DIST)
        environment["WEB_STRIPE_API_BASE"] = f"http://127.0.0.1:{LOCALSTRIPE_PORT}"
        for upstream in SERVICE_PORTS.keys() - {"gateway"}:
            environment[f"{upstream.upper()}_URLS"] = json.dumps(replica_urls(upstream))
    elif replica > 1:
        # Replica n calls replica n of the others (the first goes through Toxiproxy, below).
        def peer(service: str) -> str:
            return f"http://127.0.0.1:{replica_port(service, replica)}"

        environment["JWKS_URL"] = f"{peer('users')}/api/users/.well-known/jwks.json"
        environment["SERVICE_TOKEN_URL"] = f"{peer('users')}/api/users/oauth/token"
        for upstream in CALLS.get(name, ()):
            environment[f"{upstream.upper()}_URL"] = peer(upstream)
    if name == "orders" and replica == 1 and runs("toxiproxy"):
        # The saga's calls go through Toxiproxy (a clean pass-through until a fault test acts).
        for proxy, (listen, upstream) in FAULT_PROXIES.items():
            if proxy.startswith("orders-"):
                environment[f"{upstream.upper()}_URL"] = f"http://127.0.0.1:{listen}"
    if name in ("users", "notifications"):
        environment["RESET_TOKEN_KEY"] = reset_token_key()
    if name == "users":
        environment["JWT_SIGNING_KEYS_DIR"] = str(JWT_KEYS_DIR)
        environment["SERVICE_CLIENTS_FILE"] = str(SERVICE_CLIENTS_FILE)
    if name in DATABASES:
        environment["DATABASE_URL"] = service_database_url(name)
    return environment
