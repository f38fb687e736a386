"""No secret reaches a log: passwords, tokens and card numbers sent through every flow that
carries them are nowhere in any component's log file afterwards."""

import time
import uuid

import httpx

from cloudmart_local.layout import LOGS
from cloudmart_local.secrets import service_clients
from cloudmart_local.shop import GOOD_CARD
from tests.mailbox import reset_token_in_email
from tests.stack_control import notification_events, service_url


def test_no_password_token_or_card_number_reaches_any_log() -> None:
    username = f"hygiene{uuid.uuid4().hex[:8]}"
    email = f"{username}@example.com"
    password, wrong, renewed = (f"Pw-{uuid.uuid4().hex}" for _ in range(3))
    secrets = [password, wrong, renewed, *service_clients().values()]
    with httpx.Client(base_url=service_url("gateway"), timeout=30) as gateway:
        registered = gateway.post(
            "/api/users/register", json={"username": username, "email": email, "password": password}
        )
        assert registered.status_code == 201, registered.text
        refused = gateway.post("/api/users/login", json={"username": username, "password": wrong})
        assert refused.status_code == 401
        tokens = gateway.post("/api/users/login", json={"username": username, "password": password})
        assert tokens.status_code == 200
        access, refresh = tokens.json()["access_token"], tokens.json()["refresh_token"]
        secrets += [access, refresh]
        me = gateway.get("/api/users/me", headers={"Authorization": f"Bearer {access}"})
        assert me.status_code == 200
        # A card number where a payment method id belongs: refused, and not logged either.
        bad_order = gateway.post(
            "/api/orders",
            json={"items": [], "shipping_address": "x", "payment_method": GOOD_CARD},
            headers={"Authorization": f"Bearer {access}", "Idempotency-Key": uuid.uuid4().hex},
        )
        assert bad_order.status_code == 422
        secrets.append(GOOD_CARD)
        assert gateway.post("/api/users/password-reset", json={"email": email}).status_code == 202
        notification_events("password_reset_requested", email=email)
        token = reset_token_in_email(email)
        secrets.append(token)
        confirmed = gateway.post(
            "/api/users/password-reset/confirm",
            json={"token": token, "new_password": renewed},
        )
        assert confirmed.status_code == 204
    time.sleep(1)  # log lines are written as they happen; leave the last ones a moment

    leaks = [
        (path.name, secret[:12])
        for path in sorted(LOGS.glob("*.log"))
        for secret in secrets
        if secret in path.read_text(errors="replace")
    ]
    assert leaks == []
