"""OWASP API Security Top 10 (2023), end to end through the public entry point (the gateway).

One place to read how the running stack answers each kind of abuse. Where a service's own
integration tests cover a case in depth (the users, orders, payments and gateway suites), it is
covered here briefly, through the gateway, and directly against a service only where the
service's own check is the one that matters (tokens, service-only routes).

Groups (each test names its group): API1 object level authorization (BOLA), API2 broken
authentication, API3 object property level authorization (mass assignment), API4 resource
consumption, API5 function level authorization, API6 sensitive business flows, API7 SSRF,
API8 security misconfiguration, injection (SQL, DynamoDB/PartiQL/NoSQL, template, XSS),
API9 inventory, API10 unsafe consumption (Stripe webhooks). Each test puts its figure (what
was tried, how it was answered) in its assertion message and in a `figure` property.
"""

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from markupsafe import escape

from cloudmart_local.layout import SERVICE_PORTS
from cloudmart_local.secrets import JWT_KEYS_DIR
from tests.accounts import PASSWORD, Account, admin, new_customer, service_headers
from tests.shop import new_product, order_body, place
from tests.stack_control import card, query, service_url, stock_of, stripe_client

GATEWAY = service_url("gateway")
GATEWAY_PORT = SERVICE_PORTS["gateway"]
PROBLEM_JSON = "application/problem+json"
ISSUER, AUDIENCE = "cloudmart-users", "cloudmart"

Figure = Callable[[str], str]


# -- shared fixtures -------------------------------------------------------------------------


@pytest.fixture
def figure(record_property: Callable[[str, object], None]) -> Figure:
    """Print a measured figure and attach it to the JUnit report; returns it for asserts."""

    def report(text: str) -> str:
        print(text)
        record_property("figure", text)
        return text

    return report


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(base_url=GATEWAY, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def staff() -> Account:
    return admin()


@pytest.fixture(scope="module")
def alice() -> Account:
    return new_customer("owaspa")


@pytest.fixture(scope="module")
def bob() -> Account:
    return new_customer("owaspb")


@pytest.fixture(scope="module")
def goods(staff: Account) -> dict[str, Any]:
    return new_product(staff, stock=100_000, price=10)


@pytest.fixture(scope="module")
def alice_card(http: httpx.Client, alice: Account) -> str:
    """A card Alice saved (attached to her Stripe Customer)."""
    saved = http.post(
        "/api/payments/methods", json={"payment_method": card()}, headers=alice.headers
    )
    assert saved.status_code == 201, saved.text
    return str(saved.json()["id"])


ALICE_ADDRESS = "7 Alice Private Lane, Secretville"


@pytest.fixture(scope="module")
def alice_order(http: httpx.Client, alice: Account, goods: dict[str, Any]) -> dict[str, Any]:
    body = order_body([(goods["id"], 1)]) | {"shipping_address": ALICE_ADDRESS}
    response = place(http, alice, body)
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


@pytest.fixture(scope="module")
def alice_payment(
    http: httpx.Client, alice: Account, alice_order: dict[str, Any]
) -> dict[str, Any]:
    response = http.get(f"/api/payments/order/{alice_order['id']}", headers=alice.headers)
    assert response.status_code == 200, response.text
    payment: dict[str, Any] = response.json()
    return payment


def _is_problem(response: httpx.Response) -> bool:
    return str(response.headers.get("content-type", "")).startswith(PROBLEM_JSON)


def _answered(response: httpx.Response, *statuses: int) -> bool:
    """One of `statuses`, as an RFC 9457 problem document."""
    return response.status_code in statuses and _is_problem(response)


def _raw(target: str, host: str | None = None, extra: str = "") -> tuple[int, bytes]:
    """One request exactly as written (request target, Host), over a socket to the gateway."""
    host = host or f"127.0.0.1:{GATEWAY_PORT}"
    with socket.create_connection(("127.0.0.1", GATEWAY_PORT), timeout=10) as connection:
        connection.sendall(
            f"GET {target} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n".encode()
        )
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    answer = b"".join(chunks)
    status_line = answer.split(b"\r\n", 1)[0].split()
    return (int(status_line[1]) if len(status_line) > 1 else 0), answer


# -- API1: broken object level authorization ---------------------------------------------------

# (case, method, path, body): Bob aims at what belongs to Alice.
BOLA_CASES = [
    ("user-read", "GET", "/api/users/{user}", None),
    ("user-update", "PUT", "/api/users/{user}", {"full_name": "Owned by Bob"}),
    ("user-delete", "DELETE", "/api/users/{user}", None),
    (
        "user-password",
        "PUT",
        "/api/users/{user}/password",
        {"current_password": PASSWORD, "new_password": "Bob-Owns-This-1"},
    ),
    ("order-read", "GET", "/api/orders/{order}", None),
    ("orders-of-user", "GET", "/api/orders/user/{user}", None),
    ("order-cancel", "DELETE", "/api/orders/{order}", {"reason": "bob says so"}),
    ("payment-read", "GET", "/api/payments/{payment}", None),
    ("payment-of-order", "GET", "/api/payments/order/{order}", None),
    ("saved-card-delete", "DELETE", "/api/payments/methods/{card}", None),
]


@pytest.mark.parametrize(
    ("case", "method", "template", "body"), BOLA_CASES, ids=[c[0] for c in BOLA_CASES]
)
def test_api1_bola_another_customers_objects_are_404_and_unchanged(
    http: httpx.Client,
    alice: Account,
    bob: Account,
    alice_order: dict[str, Any],
    alice_payment: dict[str, Any],
    alice_card: str,
    figure: Figure,
    case: str,
    method: str,
    template: str,
    body: dict[str, Any] | None,
) -> None:
    path = template.format(
        user=alice.user_id, order=alice_order["id"], payment=alice_payment["id"], card=alice_card
    )
    if method == "GET":  # the object exists: its owner reads it
        assert http.get(path, headers=alice.headers).status_code == 200

    response = http.request(method, path, json=body, headers=bob.headers)

    secrets = [alice.username, f"{alice.username}@example.com", ALICE_ADDRESS]
    secrets.append(str(alice_payment["transaction_id"]))
    leaked = [s for s in secrets if s in response.text]
    me = http.get("/api/users/me", headers=alice.headers)
    order = http.get(f"/api/orders/{alice_order['id']}", headers=alice.headers).json()
    cards = http.get("/api/payments/methods", headers=alice.headers).json()["items"]
    unchanged = (
        me.status_code == 200
        and me.json()["full_name"] is None
        and order["status"] == "processing"
        and alice_card in [c["id"] for c in cards]
    )
    text = figure(
        f"API1 {case}: Bob {method} {template} -> {response.status_code}, "
        f"leaked {len(leaked)} of {len(secrets)} secrets, Alice's objects unchanged: {unchanged}"
    )
    assert _answered(response, 404), text + " " + response.text
    assert not leaked, text
    assert unchanged, text


def test_api1_bola_saved_cards_are_neither_listed_saved_nor_charged_for_someone_else(
    http: httpx.Client,
    alice: Account,
    bob: Account,
    staff: Account,
    alice_card: str,
    goods: dict[str, Any],
    figure: Figure,
) -> None:
    alice_customer = query(
        "payments", "SELECT customer_id FROM stripe_customers WHERE user_id = $1", alice.user_id
    )[0]["customer_id"]

    listed = http.get("/api/payments/methods", headers=bob.headers).json()["items"]
    saved = http.post(
        "/api/payments/methods", json={"payment_method": alice_card}, headers=bob.headers
    )
    charged = place(http, bob, order_body([(goods["id"], 1)]) | {"payment_method": alice_card})
    refund = http.post(
        "/api/payments/refund",
        json={"payment_id": 1, "reason": "bob wants money"},
        headers=bob.headers | {"Idempotency-Key": uuid.uuid4().hex},
    )

    still_alices = stripe_client().v1.payment_methods.retrieve(alice_card).customer
    payment = http.get(
        f"/api/payments/order/{charged.json().get('order_id')}", headers=staff.headers
    ).json()
    text = figure(
        f"API1 saved cards: Bob lists {len(listed)} of Alice's cards, saving hers -> "
        f"{saved.status_code}, paying with hers -> {charged.status_code} "
        f"(payment {payment.get('status')}), refunding -> {refund.status_code}; the card is "
        f"still on Alice's Stripe customer: {still_alices == alice_customer}"
    )
    assert alice_card not in [c["id"] for c in listed], text
    assert saved.status_code == 422
    assert saved.json()["type"].endswith("/invalid-payment-method")
    assert charged.status_code == 402, text + " " + charged.text
    assert payment["status"] == "failed", text
    assert payment["transaction_id"] is None, text
    assert refund.status_code == 403, text
    assert still_alices == alice_customer, text


# -- API2: broken authentication ---------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signing_key() -> tuple[str, rsa.RSAPrivateKey]:
    newest = max(Path(JWT_KEYS_DIR).glob("*.pem"))
    key = serialization.load_pem_private_key(newest.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return newest.stem, key


def _claims(user_id: int, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "role": "customer",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 600,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sid": uuid.uuid4().hex,
    } | changes
    return {name: value for name, value in claims.items() if value is not None}


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"


def _token(kind: str, user_id: int) -> str:
    """A token of the `kind` of attack, for `user_id`, claiming the admin role where it can."""
    kid, key = _signing_key()
    header = {"alg": "RS256", "typ": "JWT", "kid": kid}
    admin_claims = _claims(user_id, role="admin")
    now = int(time.time())

    def real(claims: dict[str, Any], **headers: Any) -> str:
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid} | headers)

    if kind == "valid-control":
        return real(_claims(user_id))
    if kind == "forged-signature":
        head, body, signature = real(admin_claims).split(".")
        flipped = bytearray(base64.urlsafe_b64decode(signature + "=="))
        flipped[0] ^= 0xFF
        return f"{head}.{body}.{_b64(bytes(flipped))}"
    if kind == "tampered-claims":  # a customer's real token, its role edited to admin
        head, _body, signature = real(_claims(user_id)).split(".")
        return f"{head}.{_b64(json.dumps(admin_claims).encode())}.{signature}"
    if kind == "expired":
        return real(_claims(user_id, role="admin", iat=now - 7200, exp=now - 3600))
    if kind == "not-yet-valid":
        return real(_claims(user_id, role="admin", iat=now + 3600, nbf=now + 3600))
    if kind == "alg-none":
        return _unsigned(header | {"alg": "none"}, admin_claims) + "."
    if kind == "alg-None-mixed-case":
        return _unsigned(header | {"alg": "None"}, admin_claims) + "."
    if kind == "wrong-key":  # a fresh RSA key presenting the real kid
        own = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return jwt.encode(admin_claims, own, algorithm="RS256", headers={"kid": kid})
    if kind == "hs256-public-key-as-secret":  # algorithm confusion
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        signing_input = _unsigned(header | {"alg": "HS256"}, admin_claims)
        mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(mac)}"
    if kind == "unknown-kid":
        return real(admin_claims, kid=f"forged-{uuid.uuid4().hex[:8]}")
    if kind == "no-kid":
        return jwt.encode(admin_claims, key, algorithm="RS256")
    if kind.startswith("missing-"):
        return real(_claims(user_id, **{kind.removeprefix("missing-"): None}))
    if kind == "wrong-audience":
        return real(_claims(user_id, aud="someone-else"))
    if kind == "wrong-issuer":
        return real(_claims(user_id, iss="https://evil.example"))
    if kind == "unknown-role":
        return real(_claims(user_id, role="superuser"))
    if kind == "garbage":
        return "not.a.jwt"
    raise AssertionError(kind)


BAD_TOKENS = [
    "forged-signature",
    "tampered-claims",
    "expired",
    "not-yet-valid",
    "alg-none",
    "alg-None-mixed-case",
    "wrong-key",
    "hs256-public-key-as-secret",
    "unknown-kid",
    "no-kid",
    *(f"missing-{claim}" for claim in ("exp", "iat", "sub", "jti", "role", "iss", "aud")),
    "wrong-audience",
    "wrong-issuer",
    "unknown-role",
    "garbage",
]


def _protected(target: str, user_id: int) -> str:
    """A route that needs a token: through the gateway, or straight at a service."""
    if target == "gateway":
        return f"{GATEWAY}/api/users/me"
    return f"{service_url('orders')}/api/orders/user/{user_id}"


@pytest.mark.parametrize("target", ["gateway", "orders-direct"])
def test_api2_a_correctly_made_token_is_accepted_the_control(
    alice: Account, target: str, figure: Figure
) -> None:
    token = _token("valid-control", alice.user_id)
    response = httpx.get(
        _protected(target, alice.user_id), headers={"Authorization": f"Bearer {token}"}
    )
    text = figure(
        f"API2 control via {target}: a token made like the users service's -> "
        f"{response.status_code}"
    )
    assert response.status_code == 200, text + " " + response.text


@pytest.mark.parametrize("target", ["gateway", "orders-direct"])
@pytest.mark.parametrize("kind", BAD_TOKENS)
def test_api2_bad_tokens_are_a_401_problem(
    alice: Account, kind: str, target: str, figure: Figure
) -> None:
    token = _token(kind, alice.user_id)

    response = httpx.get(
        _protected(target, alice.user_id), headers={"Authorization": f"Bearer {token}"}
    )

    text = figure(
        f"API2 {kind} via {target} -> {response.status_code}: "
        f"{response.json().get('detail') if _is_problem(response) else response.text[:80]}"
    )
    assert response.status_code == 401, text
    assert _is_problem(response), text
    assert response.headers.get("www-authenticate") == "Bearer", text


# Admin-only routes (a service token is not an admin), and service-only routes (an admin is not
# a service): (case, who, method, url, body).
ROLE_CONFUSION = [
    ("service-lists-all-orders", "service", "GET", "/api/orders", None),
    (
        "service-moves-an-order",
        "service",
        "PATCH",
        "/api/orders/{order}/status",
        {"status": "shipped"},
    ),
    ("service-creates-a-product", "service", "POST", "/api/products", "product"),
    ("service-reads-the-sent-log", "service", "GET", "/api/notifications", None),
    (
        "service-previews-a-template",
        "service",
        "POST",
        "/api/notifications/templates/manual/preview",
        {},
    ),
    ("service-reads-analytics", "service", "GET", "/api/analytics/summary", None),
    ("service-reconciles", "service", "POST", "/api/payments/reconcile", None),
    ("service-places-an-order", "service", "POST", "/api/orders", "order"),
    ("admin-charges", "admin", "POST", "/api/payments/process", "charge"),
    ("admin-reserves-stock-direct", "admin", "POST", "products:/internal/reservations", "reserve"),
    (
        "admin-releases-stock-direct",
        "admin",
        "POST",
        "products:/internal/reservations/x1/release",
        None,
    ),
    ("admin-reads-internal-user-direct", "admin", "GET", "users:/internal/users/{user}", None),
    ("customer-charges", "customer", "POST", "/api/payments/process", "charge"),
    (
        "customer-reads-internal-user-direct",
        "customer",
        "GET",
        "users:/internal/users/{user}",
        None,
    ),
]


@pytest.mark.parametrize(
    ("case", "who", "method", "url", "body"), ROLE_CONFUSION, ids=[c[0] for c in ROLE_CONFUSION]
)
def test_api2_tokens_of_the_wrong_kind_are_a_403(
    staff: Account,
    alice: Account,
    goods: dict[str, Any],
    alice_order: dict[str, Any],
    figure: Figure,
    case: str,
    who: str,
    method: str,
    url: str,
    body: Any,
) -> None:
    headers = {
        "service": service_headers("orders"),
        "admin": staff.headers,
        "customer": alice.headers,
    }[who] | {"Idempotency-Key": uuid.uuid4().hex}
    bodies = {
        "product": {
            "name": "Service-made",
            "price": 1,
            "category": "owasp",
            "sku": f"SVC-{uuid.uuid4().hex[:8].upper()}",
        },
        "order": order_body([(goods["id"], 1)]),
        "charge": {
            "order_id": alice_order["id"],
            "user_id": alice.user_id,
            "amount": 0.5,
            "currency": "USD",
            "payment_method": "pm_card_visa",
        },
        "reserve": {"order_id": "owasp-1", "lines": [{"product_id": goods["id"], "quantity": 1}]},
    }
    service, _, path = url.rpartition(":")
    base = service_url(service) if service else GATEWAY
    path = path.format(order=alice_order["id"], user=alice.user_id)
    payload = bodies.get(body, body) if isinstance(body, str) else body

    response = httpx.request(method, base + path, json=payload, headers=headers, timeout=30)

    text = figure(f"API2 {case}: {who} token {method} {url} -> {response.status_code}")
    assert _answered(response, 403), text + " " + response.text


def test_api2_a_reused_refresh_token_ends_the_session(http: httpx.Client, figure: Figure) -> None:
    holder = new_customer("owasprt")
    login = http.post("/api/users/login", json={"username": holder.username, "password": PASSWORD})
    assert login.status_code == 200, login.text
    first = login.json()["refresh_token"]
    rotated = http.post("/api/users/token/refresh", json={"refresh_token": first})
    assert rotated.status_code == 200, rotated.text

    reuse = http.post("/api/users/token/refresh", json={"refresh_token": first})
    after = http.post(
        "/api/users/token/refresh", json={"refresh_token": rotated.json()["refresh_token"]}
    )

    text = figure(
        f"API2 refresh reuse: rotation 200, the old token again -> {reuse.status_code}, "
        f"the legitimate newer one afterwards -> {after.status_code}"
    )
    assert reuse.status_code == after.status_code == 401, text
    assert _is_problem(reuse), text
    assert _is_problem(after), text


def test_api2_api4_login_brute_force_meets_429_with_retry_after(
    http: httpx.Client, figure: Figure
) -> None:
    victim = new_customer("owaspbf")  # registered directly: no login through the gateway yet
    started = time.monotonic()
    guesses = [
        http.post("/api/users/login", json={"username": victim.username, "password": f"guess{i}"})
        for i in range(10)
    ]
    # The right password, once the limit is spent, is refused too: guessing gains nothing.
    right = http.post("/api/users/login", json={"username": victim.username, "password": PASSWORD})
    elapsed = time.monotonic() - started

    statuses = [g.status_code for g in guesses]
    text = figure(
        f"API2/API4 brute force: 10 wrong passwords -> {statuses.count(401)} x 401, the 11th "
        f"attempt (right password) -> {right.status_code}, Retry-After "
        f"{right.headers.get('retry-after')} s, {elapsed:.1f} s in all"
    )
    assert statuses == [401] * 10, text
    assert _answered(right, 429), text
    assert 0 < int(right.headers["Retry-After"]) <= 60, text
    assert right.headers["RateLimit-Remaining"] == "0", text
    _assert_security_headers(right, "429")


# -- API3: broken object property level authorization (mass assignment) ------------------------

REGISTER_SMUGGLED = [
    {"role": "admin"},
    {"is_admin": True},
    {"id": 1},
    {"user_id": 1},
    {"is_active": True, "role": "admin"},
    {"password_hash": "x"},
]


@pytest.mark.parametrize("smuggled", REGISTER_SMUGGLED, ids=lambda s: "+".join(s))
def test_api3_registration_refuses_privileged_fields(
    http: httpx.Client, smuggled: dict[str, Any], figure: Figure
) -> None:
    name = f"owaspma{uuid.uuid4().hex[:8]}"
    body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}

    refused = http.post("/api/users/register", json=body | smuggled)
    clean = http.post("/api/users/register", json=body)  # the name was not taken by the first

    text = figure(
        f"API3 register with {sorted(smuggled)} -> {refused.status_code}; the same without -> "
        f"{clean.status_code}, role {clean.json().get('role')}"
    )
    assert _answered(refused, 422), text
    assert clean.status_code == 201, text
    assert clean.json()["role"] == "customer", text
    assert clean.json()["id"] != smuggled.get("id"), text


PROFILE_SMUGGLED = [
    {"role": "admin"},
    {"is_admin": True},
    {"id": 1},
    {"user_id": 1},
    {"username": "admin"},
    {"password_hash": "x"},
    {"is_active": False},
    {"deleted_at": "2020-01-01T00:00:00Z"},
    {"created_at": "2020-01-01T00:00:00Z"},
]


@pytest.mark.parametrize("smuggled", PROFILE_SMUGGLED, ids=lambda s: "+".join(s))
def test_api3_profile_updates_refuse_privileged_fields(
    http: httpx.Client, bob: Account, smuggled: dict[str, Any], figure: Figure
) -> None:
    before = http.get("/api/users/me", headers=bob.headers).json()

    response = http.put(
        f"/api/users/{bob.user_id}", json={"full_name": "Bob B"} | smuggled, headers=bob.headers
    )

    after = http.get("/api/users/me", headers=bob.headers).json()
    text = figure(
        f"API3 profile update with {sorted(smuggled)} -> {response.status_code}; afterwards "
        f"role {after['role']}, id {after['id']}, username unchanged: "
        f"{after['username'] == before['username']}"
    )
    assert _answered(response, 422), text
    assert after == before, text


ORDER_SMUGGLED = [
    ("total_amount", {"total_amount": 0.01}),
    ("price", {"price": 0.01}),
    ("status", {"status": "delivered"}),
    ("user_id", {"user_id": 1}),
    ("id", {"id": 1}),
    ("currency", {"currency": "JPY"}),
    ("payment_id", {"payment_id": 1}),
    ("line-price", {"items": [{"product_id": 0, "quantity": 1, "price": 0.01}]}),
    ("line-unit_price", {"items": [{"product_id": 0, "quantity": 1, "unit_price": 0.01}]}),
    ("line-product_name", {"items": [{"product_id": 0, "quantity": 1, "product_name": "Free"}]}),
]


@pytest.mark.parametrize(("field", "smuggled"), ORDER_SMUGGLED, ids=[c[0] for c in ORDER_SMUGGLED])
def test_api3_orders_refuse_client_prices_totals_and_status(
    http: httpx.Client,
    bob: Account,
    goods: dict[str, Any],
    field: str,
    smuggled: dict[str, Any],
    figure: Figure,
) -> None:
    if "items" in smuggled:
        smuggled = {"items": [smuggled["items"][0] | {"product_id": goods["id"]}]}
    body = {
        "items": [{"product_id": goods["id"], "quantity": 1}],
        "shipping_address": "1 Mass Assignment Road",
        "payment_method": "pm_card_visa",
    } | smuggled
    before = _order_count(bob.user_id)

    response = place(http, bob, body)

    placed = _order_count(bob.user_id) - before
    text = figure(f"API3 order with client {field} -> {response.status_code}, orders made {placed}")
    assert _answered(response, 422), text + " " + response.text
    assert field.removeprefix("line-") in json.dumps(response.json()["errors"]), text
    assert placed == 0, text


def _order_count(user_id: int) -> int:
    rows = query("orders", "SELECT count(*) AS n FROM orders WHERE user_id = $1", user_id)
    return int(rows[0]["n"])


PRODUCT_SMUGGLED: list[tuple[str, dict[str, Any]]] = [
    ("update", {"stock_quantity": 999_999}),
    ("update", {"id": 1}),
    ("update", {"sku": "STOLEN-SKU"}),
    ("update", {"created_at": "2020-01-01T00:00:00Z"}),
    ("update", {"search_text": "everything"}),
    ("create", {"id": 1}),
    ("create", {"created_at": "2020-01-01T00:00:00Z"}),
    ("create", {"low_stock_flag": True}),
]


@pytest.mark.parametrize(
    ("operation", "smuggled"),
    PRODUCT_SMUGGLED,
    ids=[f"{op}-{'+'.join(s)}" for op, s in PRODUCT_SMUGGLED],
)
def test_api3_product_writes_by_an_admin_refuse_fields_outside_the_contract(
    http: httpx.Client,
    staff: Account,
    operation: str,
    smuggled: dict[str, Any],
    figure: Figure,
) -> None:
    product = new_product(staff, stock=5, price=3)
    sku = f"MA-{uuid.uuid4().hex[:10].upper()}"
    if operation == "update":
        response = http.put(
            f"/api/products/{product['id']}", json={"price": 4} | smuggled, headers=staff.headers
        )
    else:
        response = http.post(
            "/api/products",
            json={"name": "Mass", "price": 4, "category": "owasp", "sku": sku} | smuggled,
            headers=staff.headers,
        )

    after = http.get(f"/api/products/{product['id']}").json()
    created = http.get(f"/api/products/sku/{sku}").status_code
    text = figure(
        f"API3 product {operation} with {sorted(smuggled)} -> {response.status_code}; afterwards "
        f"price {after['price']}, stock {stock_of(product['id'])}, id {after['id']}, "
        f"a product under the new SKU: {created == 200}"
    )
    assert _answered(response, 422), text
    assert (after["price"], after["sku"], after["id"]) == (3, product["sku"], product["id"])
    assert stock_of(product["id"]) == 5, text
    assert created == 404, text


PAYMENT_SMUGGLED: list[tuple[str, dict[str, Any]]] = [
    ("refund", {"status": "refunded"}),
    ("refund", {"refunded_amount": 0}),
    ("refund", {"user_id": 1}),
    ("refund", {"currency": "JPY"}),
    ("methods", {"user_id": 1}),
    ("methods", {"last4": "0000"}),
    ("methods", {"brand": "amex"}),
]


@pytest.mark.parametrize(
    ("route", "smuggled"), PAYMENT_SMUGGLED, ids=[f"{r}-{'+'.join(s)}" for r, s in PAYMENT_SMUGGLED]
)
def test_api3_payment_writes_refuse_amounts_status_and_owner(
    http: httpx.Client,
    staff: Account,
    bob: Account,
    alice_payment: dict[str, Any],
    route: str,
    smuggled: dict[str, Any],
    figure: Figure,
) -> None:
    if route == "refund":
        response = http.post(
            "/api/payments/refund",
            json={"payment_id": alice_payment["id"], "amount": 0.01, "reason": "x"} | smuggled,
            headers=staff.headers | {"Idempotency-Key": uuid.uuid4().hex},
        )
    else:
        response = http.post(
            "/api/payments/methods", json={"payment_method": card()} | smuggled, headers=bob.headers
        )

    payment = http.get(f"/api/payments/{alice_payment['id']}", headers=staff.headers).json()
    text = figure(
        f"API3 {route} with {sorted(smuggled)} -> {response.status_code}; Alice's payment "
        f"{payment['status']}, refunded {payment['refunded_amount']}"
    )
    assert _answered(response, 422), text
    assert (payment["status"], payment["refunded_amount"]) == ("succeeded", 0), text


# -- API4: unrestricted resource consumption ---------------------------------------------------

LISTS = [
    ("/api/products", "anyone"),
    ("/api/orders", "admin"),
    ("/api/orders/user/{user}", "customer"),
    ("/api/payments/methods", "customer"),
    ("/api/notifications", "admin"),
    ("/api/analytics/windows", "admin"),
]


@pytest.mark.parametrize("limit", ["100000", "0", "-1", "abc"])
@pytest.mark.parametrize(("path", "who"), LISTS, ids=[p for p, _ in LISTS])
def test_api4_page_sizes_outside_the_bounds_are_a_422(
    http: httpx.Client,
    staff: Account,
    alice: Account,
    path: str,
    who: str,
    limit: str,
    figure: Figure,
) -> None:
    headers = {"admin": staff.headers, "customer": alice.headers, "anyone": {}}[who]

    started = time.monotonic()
    response = http.get(path.format(user=alice.user_id), params={"limit": limit}, headers=headers)
    elapsed = time.monotonic() - started

    text = figure(f"API4 {path}?limit={limit} -> {response.status_code} in {elapsed * 1000:.0f} ms")
    assert _answered(response, 422), text
    assert elapsed < 2, text


BODY_ROUTES = [
    ("POST", "/api/users/register", "anyone"),
    ("POST", "/api/users/login", "anyone"),
    ("POST", "/api/orders", "customer"),
    ("POST", "/api/products", "admin"),
    ("PUT", "/api/users/{user}", "customer"),
    ("POST", "/api/payments/refund", "admin"),
    ("POST", "/api/payments/methods", "customer"),
    ("POST", "/api/notifications/templates/order_confirmation/preview", "admin"),
    ("POST", "/api/notifications/send", "admin"),
    ("PATCH", "/api/orders/1/status", "admin"),
    ("POST", "/api/payments/webhook", "anyone"),
]


def _caller(who: str, staff: Account, alice: Account) -> dict[str, str]:
    headers = {"admin": staff.headers, "customer": alice.headers, "anyone": {}}[who]
    return headers | {"Idempotency-Key": uuid.uuid4().hex, "Content-Type": "application/json"}


@pytest.mark.parametrize(("method", "path", "who"), BODY_ROUTES, ids=[p for _, p, _ in BODY_ROUTES])
def test_api4_bodies_over_1_mib_are_a_413(
    http: httpx.Client,
    staff: Account,
    alice: Account,
    method: str,
    path: str,
    who: str,
    figure: Figure,
) -> None:
    huge = b'{"full_name": "' + b"a" * (1024 * 1024) + b'"}'

    response = http.request(
        method, path.format(user=alice.user_id), content=huge, headers=_caller(who, staff, alice)
    )

    text = figure(f"API4 {len(huge)} byte body to {method} {path} -> {response.status_code}")
    assert _answered(response, 413), text
    assert response.json()["type"].endswith("/payload-too-large"), text


DEPTH = 10_000


@pytest.mark.parametrize("shape", ["arrays", "objects"])
@pytest.mark.parametrize(("method", "path", "who"), BODY_ROUTES, ids=[p for _, p, _ in BODY_ROUTES])
def test_api4_json_nested_10000_deep_is_refused_quickly_and_harmlessly(
    http: httpx.Client,
    staff: Account,
    alice: Account,
    method: str,
    path: str,
    who: str,
    shape: str,
    figure: Figure,
) -> None:
    if shape == "arrays":
        deep = b"[" * DEPTH + b"]" * DEPTH
    else:
        deep = b'{"a":' * DEPTH + b"1" + b"}" * DEPTH

    started = time.monotonic()
    response = http.request(
        method, path.format(user=alice.user_id), content=deep, headers=_caller(who, staff, alice)
    )
    elapsed = time.monotonic() - started
    healthy = http.get("/api/products?limit=1").status_code == 200
    me = http.get("/api/users/me", headers=alice.headers).status_code

    text = figure(
        f"API4 {DEPTH} nested {shape} to {method} {path} -> {response.status_code} in "
        f"{elapsed * 1000:.0f} ms; afterwards catalog 200: {healthy}, /me {me}"
    )
    assert _answered(response, *range(400, 500)), text
    assert elapsed < 2, text
    assert healthy, text
    assert me == 200, text


LONG = "x" * 10_000
# (case, method, path, who, body or query): each one field far over its bound.
LONG_FIELDS: list[tuple[str, str, str, str, dict[str, Any]]] = [
    (
        "register-username",
        "POST",
        "/api/users/register",
        "anyone",
        {"username": LONG, "email": "long@example.com", "password": PASSWORD},
    ),
    (
        "register-full_name",
        "POST",
        "/api/users/register",
        "anyone",
        {
            "username": "owasplong",
            "email": "long@example.com",
            "password": PASSWORD,
            "full_name": LONG,
        },
    ),
    (
        "register-password",
        "POST",
        "/api/users/register",
        "anyone",
        {"username": "owasplong", "email": "long@example.com", "password": "Aa1!" + "x" * 100_000},
    ),
    (
        "register-email",
        "POST",
        "/api/users/register",
        "anyone",
        {"username": "owasplong", "email": LONG + "@example.com", "password": PASSWORD},
    ),
    (
        "login-password",
        "POST",
        "/api/users/login",
        "anyone",
        {"username": "owasp-long-login", "password": "x" * 100_000},
    ),
    ("profile-address", "PUT", "/api/users/{user}", "customer", {"address": LONG}),
    (
        "order-shipping_address",
        "POST",
        "/api/orders",
        "customer",
        {
            "items": [{"product_id": 1, "quantity": 1}],
            "shipping_address": "y" * 100_000,
            "payment_method": "pm_card_visa",
        },
    ),
    (
        "order-payment_method",
        "POST",
        "/api/orders",
        "customer",
        {
            "items": [{"product_id": 1, "quantity": 1}],
            "shipping_address": "1 Long Road",
            "payment_method": "pm_" + LONG,
        },
    ),
    (
        "product-name",
        "POST",
        "/api/products",
        "admin",
        {"name": LONG, "price": 1, "category": "owasp", "sku": "LONG-1"},
    ),
    (
        "product-description",
        "POST",
        "/api/products",
        "admin",
        {
            "name": "Long",
            "description": "d" * 100_000,
            "price": 1,
            "category": "owasp",
            "sku": "LONG-2",
        },
    ),
    (
        "product-image_url",
        "POST",
        "/api/products",
        "admin",
        {
            "name": "Long",
            "price": 1,
            "category": "owasp",
            "sku": "LONG-3",
            "image_url": "https://example.com/" + LONG,
        },
    ),
    ("refund-reason", "POST", "/api/payments/refund", "admin", {"payment_id": 1, "reason": LONG}),
    (
        "send-message",
        "POST",
        "/api/notifications/send",
        "admin",
        {"recipient": "long@example.com", "subject": "s", "message": "m" * 100_000},
    ),
    ("search-q", "GET", "/api/products", "anyone", {"q": "q" * 1000}),
    ("search-cursor", "GET", "/api/products", "anyone", {"cursor": "c" * 5000}),
    (
        "idempotency-key",
        "POST",
        "/api/orders",
        "customer+long-key",
        {
            "items": [{"product_id": 1, "quantity": 1}],
            "shipping_address": "1 Long Road",
            "payment_method": "pm_card_visa",
        },
    ),
]


@pytest.mark.parametrize(
    ("case", "method", "path", "who", "data"), LONG_FIELDS, ids=[c[0] for c in LONG_FIELDS]
)
def test_api4_very_long_strings_are_a_422(
    http: httpx.Client,
    staff: Account,
    alice: Account,
    case: str,
    method: str,
    path: str,
    who: str,
    data: dict[str, Any],
    figure: Figure,
) -> None:
    headers = _caller(who.split("+")[0], staff, alice)
    if who.endswith("long-key"):
        headers["Idempotency-Key"] = "k" * 5000
    url = path.format(user=alice.user_id)

    started = time.monotonic()
    if method == "GET":
        response = http.get(url, params=data, headers=headers)
    else:
        response = http.request(method, url, json=data, headers=headers)
    elapsed = time.monotonic() - started

    size = (
        len(headers["Idempotency-Key"])
        if who.endswith("long-key")
        else max(len(str(v)) for v in data.values())
    )
    text = figure(
        f"API4 {case}: a {size}-character value -> {response.status_code} in "
        f"{elapsed * 1000:.0f} ms"
    )
    assert _answered(response, 422), text + " " + response.text[:200]
    assert elapsed < 2, text


@pytest.mark.parametrize(
    ("case", "items"),
    [
        ("10000-lines", [{"product_id": i, "quantity": 1} for i in range(1, 10_001)]),
        ("100-lines", [{"product_id": i, "quantity": 1} for i in range(1, 101)]),
        ("quantity-1e6", [{"product_id": 1, "quantity": 1_000_000}]),
        ("quantity-10**30", [{"product_id": 1, "quantity": 10**30}]),
        ("quantity-5000-digits", []),  # sent raw: too long for int() here
    ],
)
def test_api4_orders_too_big_to_price_are_a_422_before_any_work(
    http: httpx.Client,
    bob: Account,
    case: str,
    items: list[dict[str, Any]],
    figure: Figure,
) -> None:
    body = {"items": items, "shipping_address": "1 Bulk Street", "payment_method": "pm_card_visa"}
    raw = (
        json.dumps(body).encode()
        if case != "quantity-5000-digits"
        else (
            b'{"items": [{"product_id": 1, "quantity": '
            + b"9" * 5000
            + b'}], "shipping_address": "1 Bulk Street", "payment_method": "pm_card_visa"}'
        )
    )
    before = _order_count(bob.user_id)

    started = time.monotonic()
    response = http.post(
        "/api/orders",
        content=raw,
        headers=bob.headers
        | {"Idempotency-Key": uuid.uuid4().hex, "Content-Type": "application/json"},
    )
    elapsed = time.monotonic() - started

    text = figure(
        f"API4 order {case} ({len(raw)} bytes) -> {response.status_code} in "
        f"{elapsed * 1000:.0f} ms, orders made {_order_count(bob.user_id) - before}"
    )
    assert _answered(response, 400, 422), text
    assert elapsed < 3, text
    assert _order_count(bob.user_id) == before, text


# -- API5: broken function level authorization -------------------------------------------------

# (case, method, path, body): admin-only functions a customer tries.
ADMIN_FUNCTIONS = [
    (
        "product-create",
        "POST",
        "/api/products",
        {"name": "Customer-made", "price": 1, "category": "owasp", "sku": "CUSTOMER-MADE-1"},
    ),
    ("product-update", "PUT", "/api/products/{product}", {"price": 0.01}),
    ("product-delete", "DELETE", "/api/products/{product}", None),
    ("product-stock", "PATCH", "/api/products/{product}/stock", {"set": 0, "reason": "mine"}),
    ("orders-all", "GET", "/api/orders", None),
    ("order-status", "PATCH", "/api/orders/{order}/status", {"status": "shipped"}),
    ("notifications-log", "GET", "/api/notifications", None),
    ("notifications-templates", "GET", "/api/notifications/templates", None),
    ("notifications-preview", "POST", "/api/notifications/templates/manual/preview", {}),
    (
        "notifications-send",
        "POST",
        "/api/notifications/send",
        {"recipient": "someone@example.com", "subject": "Hi", "message": "spam"},
    ),
    ("analytics-windows", "GET", "/api/analytics/windows", None),
    ("analytics-summary", "GET", "/api/analytics/summary", None),
    ("analytics-stream", "GET", "/api/analytics/stream", None),
    ("payments-reconcile", "POST", "/api/payments/reconcile", None),
    (
        "payments-refund",
        "POST",
        "/api/payments/refund",
        {"payment_id": "{payment}", "reason": "me"},
    ),
    (
        "payments-process",
        "POST",
        "/api/payments/process",
        {"order_id": 1, "user_id": 1, "amount": 1, "currency": "USD", "payment_method": "pm_x"},
    ),
]


@pytest.mark.parametrize(
    ("case", "method", "path", "body"), ADMIN_FUNCTIONS, ids=[c[0] for c in ADMIN_FUNCTIONS]
)
def test_api5_customers_calling_admin_functions_get_403_and_nothing_happens(
    http: httpx.Client,
    alice: Account,
    staff: Account,
    goods: dict[str, Any],
    alice_order: dict[str, Any],
    alice_payment: dict[str, Any],
    case: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    figure: Figure,
) -> None:
    url = path.format(product=goods["id"], order=alice_order["id"])
    if body and body.get("payment_id") == "{payment}":
        body = body | {"payment_id": alice_payment["id"]}
    stock = stock_of(goods["id"])

    response = http.request(
        method, url, json=body, headers=alice.headers | {"Idempotency-Key": uuid.uuid4().hex}
    )

    product = http.get(f"/api/products/{goods['id']}")
    order = http.get(f"/api/orders/{alice_order['id']}", headers=alice.headers).json()
    payment = http.get(f"/api/payments/{alice_payment['id']}", headers=staff.headers).json()
    made = http.get("/api/products/sku/CUSTOMER-MADE-1").status_code
    intact = (
        product.status_code == 200
        and product.json()["price"] == goods["price"]
        and stock_of(goods["id"]) == stock
        and order["status"] == "processing"
        and payment["refunded_amount"] == 0
        and made == 404
    )
    text = figure(
        f"API5 customer {case}: {method} {path} -> {response.status_code}, "
        f"everything intact: {intact}"
    )
    assert _answered(response, 403), text + " " + response.text
    assert intact, text


# Operational and internal routes of the services: never reachable through the gateway.
UNROUTED = [
    "/internal/users/1",
    "/internal/reservations",
    "/api/internal/users/1",
    "/api/users/../../internal/users/1",
    "/api/users/%2e%2e/%2e%2e/internal/users/1",
    "/api/users/..%2f..%2finternal%2fusers%2f1",
    "/api/products/..%2f..%2finternal/reservations",
    "/api/products/%2e%2e%2f%2e%2e%2fmetrics",
    "/api/orders/..%2f..%2fready",
    "/api/payments/%2E%2E/%2E%2E/metrics",
    "/api/analytics/../../health",
    "/api/metrics",
    "/api/ready",
    "/api/health",
    "/api/openapi/../../internal/users/1",
    "/metrics/../internal/users/1",
    "/api/users/%252e%252e/%252e%252e/internal/users/1",
    "/api/users/.%2e/.%2e/internal/users/1",
]


@pytest.mark.parametrize("path", UNROUTED)
def test_api5_internal_and_operational_routes_of_services_are_a_404(
    staff: Account, path: str, figure: Figure
) -> None:
    # Sent as written over a socket: no client-side normalisation of the dot segments.
    status, answer = _raw(path, extra=f"Authorization: {staff.headers['Authorization']}\r\n")

    text = figure(f"API5 GET {path} with an admin token -> {status}")
    assert status == 404, text
    assert PROBLEM_JSON.encode() in answer, text
    for marker in (b"http_requests_total", b'"checks"', b'"is_active"'):
        assert marker not in answer, text


@pytest.mark.parametrize(
    "service", ["users", "products", "orders", "payments", "notifications", "analytics"]
)
@pytest.mark.parametrize("leaf", ["metrics", "ready", "health", "openapi.json", "docs"])
def test_api5_operational_documents_never_come_back_under_a_service_prefix(
    http: httpx.Client, staff: Account, service: str, leaf: str, figure: Figure
) -> None:
    response = http.get(f"/api/{service}/{leaf}", headers=staff.headers)

    text = figure(f"API5 GET /api/{service}/{leaf} -> {response.status_code}")
    assert response.status_code in (400, 401, 403, 404, 405, 422), text
    for marker in ("http_requests_total", '"checks"', '"openapi"', "swagger-ui"):
        assert marker not in response.text, text


# -- API6: unrestricted access to sensitive business flows -------------------------------------


def test_api6_an_idempotency_key_replayed_with_another_body_is_a_422(
    http: httpx.Client, bob: Account, goods: dict[str, Any], figure: Figure
) -> None:
    key, body = uuid.uuid4().hex, order_body([(goods["id"], 1)])
    before = _order_count(bob.user_id)

    first = place(http, bob, body, key)
    same = place(http, bob, body, key)
    other = place(http, bob, body | {"items": [{"product_id": goods["id"], "quantity": 5}]}, key)

    made = _order_count(bob.user_id) - before
    text = figure(
        f"API6 one Idempotency-Key: first {first.status_code}, same body {same.status_code} "
        f"(replayed {same.headers.get('idempotent-replayed')}), other body {other.status_code}; "
        f"orders made {made}"
    )
    assert first.status_code == same.status_code == 201, text
    assert same.json()["id"] == first.json()["id"], text
    assert other.status_code == 422
    assert other.json()["type"].endswith("/idempotency-key-reused")
    assert made == 1, text


def test_api6_ordering_more_than_the_stock_is_a_409_without_a_charge(
    http: httpx.Client, bob: Account, staff: Account, figure: Figure
) -> None:
    scarce = new_product(staff, stock=2, price=99)

    response = place(http, bob, order_body([(scarce["id"], 3)]))

    order_id = response.json().get("order_id")
    order = http.get(f"/api/orders/{order_id}", headers=bob.headers).json()
    payment = http.get(f"/api/payments/order/{order_id}", headers=staff.headers)
    text = figure(
        f"API6 3 of a product with 2 in stock -> {response.status_code}, order "
        f"{order.get('status')}, payment lookup {payment.status_code}, "
        f"stock {stock_of(scarce['id'])}"
    )
    assert response.status_code == 409
    assert response.json()["type"].endswith("/out-of-stock")
    assert order["status"] == "cancelled", text
    assert order["payment_id"] is None, text
    assert payment.status_code == 404, text
    assert stock_of(scarce["id"]) == 2, text


def test_api6_refunding_more_than_was_captured_is_a_422(
    http: httpx.Client, bob: Account, staff: Account, goods: dict[str, Any], figure: Figure
) -> None:
    order = place(http, bob, order_body([(goods["id"], 2)])).json()
    payment_id = order["payment_id"]

    def refund(amount: float, key: str | None = None) -> httpx.Response:
        return http.post(
            "/api/payments/refund",
            json={"payment_id": payment_id, "amount": amount, "reason": "too much"},
            headers=staff.headers | {"Idempotency-Key": key or uuid.uuid4().hex},
        )

    too_much = refund(20.01)
    key = uuid.uuid4().hex
    part = refund(5, key)
    changed_body = refund(6, key)
    rest_plus = refund(15.01)

    payment = http.get(f"/api/payments/{payment_id}", headers=staff.headers).json()
    text = figure(
        f"API6 refunds of a 20.00 capture: 20.01 -> {too_much.status_code} (refundable "
        f"{too_much.json().get('refundable')}), 5.00 -> {part.status_code}, same key 6.00 -> "
        f"{changed_body.status_code}, 15.01 -> {rest_plus.status_code}; refunded "
        f"{payment['refunded_amount']}"
    )
    assert too_much.status_code == 422, text
    assert too_much.json()["refundable"] == 20, text
    assert part.status_code == 201, text
    assert changed_body.status_code == 422, text
    assert rest_plus.status_code == 422, text
    assert rest_plus.json()["refundable"] == 15, text
    assert payment["refunded_amount"] == 5, text


# -- API7: server side request forgery ---------------------------------------------------------


class _Canary:
    """A loopback HTTP server that counts every request reaching it: nothing should."""

    def __init__(self) -> None:
        hits: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"CANARY-REACHED")

            do_POST = do_HEAD = do_GET

            def log_message(self, *_args: Any) -> None:
                pass

        self.hits = hits
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def canary() -> Iterator[_Canary]:
    server = _Canary()
    try:
        yield server
    finally:
        server.close()


SSRF_TARGETS = [
    ("absolute-form", "http://{canary}/canary", None, ""),
    ("absolute-form-api", "http://{canary}/api/products", None, ""),
    ("scheme-relative", "//{canary}/canary", None, ""),
    ("encoded-dots", "/api/..%2f..%2f{canary}/canary", None, ""),
    ("encoded-dots-in-service", "/api/products/..%2f..%2f..%2f{canary}%2fcanary", None, ""),
    ("url-in-path", "/api/users/http://{canary}/canary", None, ""),
    ("url-in-query", "/api/products?url=http://{canary}/canary&redirect=//{canary}/", None, ""),
    ("host-header", "/api/products?limit=1", "{canary}", ""),
    ("forwarded-host", "/api/products?limit=1", None, "X-Forwarded-Host: {canary}\r\n"),
    ("userinfo-trick", "/api/products@{canary}/canary", None, ""),
    ("backslash", "/\\\\{canary}/canary", None, ""),
]


@pytest.mark.parametrize(
    ("case", "target", "host", "extra"), SSRF_TARGETS, ids=[c[0] for c in SSRF_TARGETS]
)
def test_api7_the_gateway_never_forwards_outside_its_upstreams(
    canary: _Canary, case: str, target: str, host: str | None, extra: str, figure: Figure
) -> None:
    before = len(canary.hits)

    status, answer = _raw(
        target.format(canary=canary.address),
        host.format(canary=canary.address) if host else None,
        extra.format(canary=canary.address),
    )

    time.sleep(0.2)  # a forwarded request would have arrived by now
    reached = len(canary.hits) - before
    text = figure(f"API7 {case}: {target} -> {status}, requests reaching the canary {reached}")
    assert reached == 0, text
    assert b"CANARY-REACHED" not in answer, text
    assert 0 < status < 500, text


def test_api7_url_fields_are_stored_never_fetched_and_links_come_from_settings(
    http: httpx.Client, staff: Account, canary: _Canary, figure: Figure
) -> None:
    before = len(canary.hits)
    image = f"http://{canary.address}/image.png"
    product = http.post(
        "/api/products",
        json={
            "name": "Canary lamp",
            "price": 5,
            "category": "owasp",
            "sku": f"SSRF-{uuid.uuid4().hex[:8].upper()}",
            "image_url": image,
        },
        headers=staff.headers,
    )
    read = http.get(f"/api/products/{product.json()['id']}").json()
    sample = _template_sample(http, staff, "password_reset")
    preview = http.post(
        "/api/notifications/templates/password_reset/preview",
        json={"data": sample | {"shop_url": f"http://{canary.address}"}},
        headers=staff.headers,
    )
    time.sleep(0.5)

    reached = len(canary.hits) - before
    rendered = preview.json()
    text = figure(
        f"API7 URL fields: product image_url stored verbatim {read['image_url'] == image}, "
        f"preview links to the canary {canary.address in rendered['text']}, requests reaching "
        f"the canary {reached}"
    )
    assert product.status_code == 201, text
    assert read["image_url"] == image, text
    assert preview.status_code == 200, text
    assert canary.address not in rendered["text"] + rendered["html"], text
    assert "/reset-password?token=" in rendered["text"], text
    assert reached == 0, text


# -- API8: security misconfiguration -----------------------------------------------------------


def _assert_security_headers(response: httpx.Response, what: str) -> None:
    headers = response.headers
    policy = headers.get("content-security-policy", "")
    expected = {
        "x-content-type-options": headers.get("x-content-type-options") == "nosniff",
        "x-frame-options": headers.get("x-frame-options") == "DENY",
        "csp frame-ancestors 'none'": "frame-ancestors 'none'" in policy,
        "csp default-src 'self'": "default-src 'self'" in policy,
        "referrer-policy": headers.get("referrer-policy") == "no-referrer",
        "hsts >= 1 year": int(
            (headers.get("strict-transport-security") or "max-age=0").split(";")[0].split("=")[1]
        )
        >= 31_536_000,
        "no server": "server" not in headers,
        "no x-powered-by": "x-powered-by" not in headers,
    }
    missing = [name for name, ok in expected.items() if not ok]
    assert not missing, f"{what} ({response.status_code}) lacks {missing}"


# (case, method, path, who, body): answers of every kind the gateway gives.
ANSWER_KINDS = [
    ("200-json", "GET", "/api/products?limit=1", "anyone", None),
    ("200-html-shop", "GET", "/", "anyone", None),
    ("200-html-docs", "GET", "/api/docs", "anyone", None),
    ("200-openapi", "GET", "/api/openapi.json", "anyone", None),
    ("200-health", "GET", "/health/services", "anyone", None),
    ("401", "GET", "/api/orders", "anyone", None),
    ("403", "GET", "/api/orders", "customer", None),
    ("404-route", "GET", "/api/nothing-here", "anyone", None),
    ("404-internal", "GET", "/internal/users/1", "anyone", None),
    ("404-file", "GET", "/missing.js", "anyone", None),
    ("405", "TRACE", "/api/products", "anyone", None),
    ("422", "POST", "/api/users/register", "anyone", {"username": "x"}),
    ("400-preflight", "OPTIONS", "/api/orders", "evil-preflight", None),
    ("200-preflight", "OPTIONS", "/api/orders", "web-preflight", None),
]


@pytest.mark.parametrize(
    ("case", "method", "path", "who", "body"), ANSWER_KINDS, ids=[c[0] for c in ANSWER_KINDS]
)
def test_api8_every_answer_carries_the_security_headers(
    http: httpx.Client,
    alice: Account,
    case: str,
    method: str,
    path: str,
    who: str,
    body: dict[str, Any] | None,
    figure: Figure,
) -> None:
    headers = {
        "anyone": {},
        "customer": alice.headers,
        "evil-preflight": {
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "POST",
        },
        "web-preflight": {
            "Origin": "http://localhost:5000",
            "Access-Control-Request-Method": "POST",
        },
    }[who]

    response = http.request(method, path, json=body, headers=headers)

    figure(f"API8 headers on {case}: {method} {path} -> {response.status_code}")
    assert response.status_code == int(case[:3]), response.text[:200]
    _assert_security_headers(response, case)


LEAK_MARKERS = (
    "Traceback",
    'File "',
    "site-packages",
    "/work/",
    "sqlalchemy",
    "asyncpg",
    "botocore",
    "pydantic_core",
    "jinja2",
    "RecursionError",
    "ValueError",
    "TypeError",
    "KeyError",
    "AttributeError",
    "Exception",
    "Correct-Horse",  # what the client sent is never echoed (a password here)
)
PROBLEM_MEMBERS = {"type", "title", "status", "detail", "instance", "request_id"}
# Extension members that would be a debugging aid for an attacker.
DEBUG_MEMBERS = {"exception", "exc_info", "traceback", "stack", "trace", "debug", "input", "body"}

# (case, method, path, who, raw body or None, content type)
MALFORMED = [
    (
        "truncated-json",
        "POST",
        "/api/users/register",
        "anyone",
        b'{"username": ',
        "application/json",
    ),
    ("not-json", "POST", "/api/orders", "customer", b"items=1&x=2", "application/json"),
    (
        "xml",
        "POST",
        "/api/products",
        "admin",
        b"<product><name>x</name></product>",
        "application/xml",
    ),
    (
        "invalid-utf8",
        "POST",
        "/api/users/login",
        "anyone",
        b'{"username": "\xff\xfe"}',
        "application/json",
    ),
    ("null-body", "POST", "/api/payments/refund", "admin", b"null", "application/json"),
    ("array-body", "PUT", "/api/users/{user}", "customer", b"[1, 2, 3]", "application/json"),
    (
        "wrong-types",
        "POST",
        "/api/orders",
        "customer",
        b'{"items": "all", "shipping_address": 5, "payment_method": ["pm"]}',
        "application/json",
    ),
    (
        "password-echo",
        "POST",
        "/api/users/register",
        "anyone",
        b'{"username": "x y", "email": "bad", "password": {"Correct-Horse-42": 1}}',
        "application/json",
    ),
    (
        "number-infinity",
        "POST",
        "/api/products",
        "admin",
        b'{"name": "n", "price": 1e999, "category": "owasp", "sku": "INF-1"}',
        "application/json",
    ),
    (
        "number-nan",
        "POST",
        "/api/products",
        "admin",
        b'{"name": "n", "price": NaN, "category": "owasp", "sku": "NAN-1"}',
        "application/json",
    ),
    (
        "status-unknown",
        "PATCH",
        "/api/orders/1/status",
        "admin",
        b'{"status": "stolen"}',
        "application/json",
    ),
    (
        "stock-both",
        "PATCH",
        "/api/products/1/stock",
        "admin",
        b'{"set": 1, "adjust": 1, "reason": "r"}',
        "application/json",
    ),
    (
        "preview-unfit-data",
        "POST",
        "/api/notifications/templates/order_confirmation/preview",
        "admin",
        b'{"data": {"items": 5, "timestamp": "yesterday", "total_amount": "lots"}}',
        "application/json",
    ),
    (
        "preview-unknown-template",
        "POST",
        "/api/notifications/templates/nope/preview",
        "admin",
        b"{}",
        "application/json",
    ),
    ("path-type", "GET", "/api/orders/abc", "customer", None, ""),
    ("user-id-past-bigint", "GET", f"/api/users/{10**40}", "admin", None, ""),
    ("user-id-past-bigint-delete", "DELETE", f"/api/users/{10**40}", "admin", None, ""),
    ("product-id-past-bigint", "GET", f"/api/products/{10**40}", "anyone", None, ""),
    ("query-type", "GET", "/api/products?min_price=cheap", "anyone", None, ""),
    ("bad-cursor", "GET", "/api/products?cursor=%00%ff", "anyone", None, ""),
    (
        "bad-cursor-orders",
        "GET",
        "/api/orders/user/{user}?cursor=eyJ4IjogMX0",
        "customer",
        None,
        "",
    ),
]


@pytest.mark.parametrize(
    ("case", "method", "path", "who", "raw", "content_type"),
    MALFORMED,
    ids=[c[0] for c in MALFORMED],
)
def test_api8_errors_are_plain_problems_without_internals(
    http: httpx.Client,
    staff: Account,
    alice: Account,
    case: str,
    method: str,
    path: str,
    who: str,
    raw: bytes | None,
    content_type: str,
    figure: Figure,
) -> None:
    headers = _caller(who, staff, alice)
    if content_type:
        headers["Content-Type"] = content_type
    else:
        headers.pop("Content-Type")

    response = http.request(method, path.format(user=alice.user_id), content=raw, headers=headers)

    body = response.json() if _is_problem(response) else {}
    leaks = [marker for marker in LEAK_MARKERS if marker in response.text]
    text = figure(
        f"API8 {case}: {method} {path} -> {response.status_code}, members "
        f"{sorted(body)}, leak markers {leaks}"
    )
    assert _answered(response, *range(400, 500)), text + response.text[:300]
    assert set(body) >= PROBLEM_MEMBERS, text
    assert not DEBUG_MEMBERS & set(body), text
    assert body["request_id"], text
    assert not leaks, text
    for error in body.get("errors", []):
        assert set(error) == {"loc", "msg", "type"}, text  # never the `input` that was sent


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "null",
        "http://localhost:5000.evil.example",
        "http://evil.localhost:5000",
        "https://localhost:5000",
        "http://127.0.0.1:5001",
    ],
)
def test_api8_cors_refuses_an_unknown_origin(
    http: httpx.Client, origin: str, figure: Figure
) -> None:
    preflight = http.options(
        "/api/orders",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    simple = http.get("/api/products?limit=1", headers={"Origin": origin})
    allowed = http.get("/api/products?limit=1", headers={"Origin": "http://localhost:5000"})

    granted = [
        r.headers.get("access-control-allow-origin")
        for r in (preflight, simple)
        if "access-control-allow-origin" in r.headers
    ]
    text = figure(
        f"API8 CORS from {origin}: preflight {preflight.status_code}, origins granted {granted}; "
        f"the web origin is granted {allowed.headers.get('access-control-allow-origin')}"
    )
    assert preflight.status_code == 400, text
    assert not granted, text
    assert "access-control-allow-credentials" not in simple.headers, text
    assert allowed.headers.get("access-control-allow-origin") == "http://localhost:5000", text


def test_api8_the_public_docs_are_the_documented_ones(http: httpx.Client, figure: Figure) -> None:
    docs = http.get("/api/docs")
    document = http.get("/api/openapi.json")
    services = {
        name: httpx.get(f"{service_url(name)}/openapi.json", timeout=10).json()
        for name in ("users", "products", "orders", "payments", "notifications", "dashboard")
    }

    public = set(document.json()["paths"])
    everything = {p for d in services.values() for p in d["paths"]}
    hidden = sorted(everything - public)
    text = figure(
        f"API8 docs: /api/docs {docs.status_code} ({docs.headers['content-type']}), "
        f"/api/openapi.json lists {len(public)} of the services' {len(everything)} paths; "
        f"not public: {hidden}"
    )
    assert docs.status_code == 200, text
    assert "/api/openapi.json" in docs.text, text
    assert document.status_code == 200, text
    assert all(p.startswith(("/internal/", "/health", "/ready", "/metrics")) for p in hidden), text
    assert {p for p in everything if p.startswith("/api/")} == public, text


# -- injection: SQL, DynamoDB expressions / PartiQL / NoSQL, templates, XSS --------------------

PAYLOADS = {
    "sql-or": "' OR 1=1 --",
    "sql-stacked": "1; DROP TABLE orders",
    "sql-union": "' UNION SELECT password_hash FROM users --",
    "dynamodb-expression": "#name = :v OR attribute_exists(id)",
    "partiql": "' OR begins_with(\"name\", '') OR 'a'='a",
    "nosql-operator": '{"$ne": null}',
    "jinja": "{{7*7}}",
    "dollar": "${7*7}",
    "jinja-config": "{{ config.items() }}",
    "jinja-block": "{% for c in ().__class__.__base__.__subclasses__() %}{{c}}{% endfor %}",
    "xss-script": "<script>alert(1)</script>",
    "xss-attribute": '"><img src=x onerror=alert(1)>',
}
STORED, REFUSED = "stored verbatim", ("refused 401", "not found 404", "refused 422")


def _json(response: httpx.Response) -> dict[str, Any]:
    """The body of a success, else {} (so that checks on it are simply false)."""
    if response.status_code not in (200, 201):
        return {}
    body: dict[str, Any] = response.json()
    return body


def _outcome(response: httpx.Response, verbatim: bool) -> str:
    """What became of one payload: stored verbatim, refused (a 4xx problem), or a finding."""
    if response.status_code in (200, 201):
        return STORED if verbatim else f"altered or wrongly accepted: {response.text[:120]}"
    for status, outcome in zip((401, 404, 422), REFUSED, strict=True):
        if _answered(response, status):
            return outcome
    return f"{response.status_code} {response.text[:120]}"


def _judge(outcomes: dict[str, str], surface: str, figure: Figure) -> None:
    counts: dict[str, int] = {}
    for outcome in outcomes.values():
        counts[outcome] = counts.get(outcome, 0) + 1
    tally = ", ".join(f"{n} {what}" for what, n in sorted(counts.items()))
    bad = {name: o for name, o in outcomes.items() if o != STORED and o not in REFUSED}
    text = figure(f"injection {surface}: {len(outcomes)} attempts -> {tally}")
    assert not bad, f"{text}; unexpected: {bad}"


def _user_count() -> int:
    return int(query("users", "SELECT count(*) AS n FROM users")[0]["n"])


def test_injection_registration_fields(http: httpx.Client, figure: Figure) -> None:
    users_before = _user_count()
    outcomes: dict[str, str] = {}
    for name, payload in PAYLOADS.items():
        username = f"owaspinj{uuid.uuid4().hex[:8]}"
        base = {"username": username, "email": f"{username}@example.com", "password": PASSWORD}
        stored = http.post(
            "/api/users/register", json=base | {"full_name": payload, "address": payload}
        )
        user = _json(stored)
        outcomes[f"{name}:full_name+address"] = _outcome(
            stored, user.get("full_name") == user.get("address") == payload
        )
        for field in ("username", "email", "phone"):
            other = f"owaspinj{uuid.uuid4().hex[:8]}"
            body = {"username": other, "email": f"{other}@example.com", "password": PASSWORD}
            response = http.post("/api/users/register", json=body | {field: payload})
            outcomes[f"{name}:{field}"] = _outcome(response, verbatim=False)
    users_after = _user_count()

    _judge(outcomes, f"register (users table {users_before} -> {users_after} rows)", figure)
    assert users_after >= users_before + len(PAYLOADS), "the users table lost rows"


def test_injection_login_fields(http: httpx.Client, figure: Figure) -> None:
    outcomes = {
        name: _outcome(
            http.post("/api/users/login", json={"username": payload, "password": payload}),
            verbatim=False,
        )
        for name, payload in PAYLOADS.items()
    }
    _judge(outcomes, "login username/password", figure)


def test_injection_profile_fields(http: httpx.Client, figure: Figure) -> None:
    someone = new_customer("owaspprof")
    outcomes: dict[str, str] = {}
    for name, payload in PAYLOADS.items():
        response = http.put(
            f"/api/users/{someone.user_id}",
            json={"full_name": payload, "address": payload},
            headers=someone.headers,
        )
        me = http.get("/api/users/me", headers=someone.headers).json()
        user = _json(response)
        outcomes[f"{name}:full_name+address"] = _outcome(
            response,
            user.get("full_name") == me["full_name"] == payload
            and user.get("address") == me["address"] == payload,
        )
        email = http.put(
            f"/api/users/{someone.user_id}", json={"email": payload}, headers=someone.headers
        )
        outcomes[f"{name}:email"] = _outcome(email, verbatim=False)
    _judge(outcomes, "profile update", figure)


@pytest.fixture(scope="module")
def injected_category() -> str:
    return f"owasp-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def injected_products(
    http: httpx.Client, staff: Account, injected_category: str
) -> dict[str, httpx.Response]:
    """One product per payload, its name and description the payload, made by an admin."""
    return {
        name: http.post(
            "/api/products",
            json={
                "name": f"{payload} {name}",
                "description": payload,
                "price": 1,
                "category": injected_category,
                "sku": f"INJ-{uuid.uuid4().hex[:10].upper()}",
                "stock_quantity": 1,
            },
            headers=staff.headers,
        )
        for name, payload in PAYLOADS.items()
    }


def test_injection_product_create_and_update(
    http: httpx.Client,
    staff: Account,
    injected_products: dict[str, httpx.Response],
    injected_category: str,
    figure: Figure,
) -> None:
    outcomes: dict[str, str] = {}
    for name, payload in PAYLOADS.items():
        created = injected_products[name]
        product = _json(created)
        outcomes[f"{name}:create"] = _outcome(
            created,
            product.get("name") == f"{payload} {name}" and product.get("description") == payload,
        )
        if created.status_code != 201:
            continue
        updated = http.put(
            f"/api/products/{product['id']}",
            json={"name": payload, "description": f"{payload} {name}"},
            headers=staff.headers,
        )
        read = http.get(f"/api/products/{product['id']}").json()
        outcomes[f"{name}:update"] = _outcome(
            updated,
            _json(updated).get("name") == read["name"] == payload
            and read["description"] == f"{payload} {name}",
        )
        for field in ("category", "sku", "image_url"):
            refused = http.post(
                "/api/products",
                json={"name": "n", "price": 1, "category": "owasp", "sku": "INJ-X1"}
                | {field: payload},
                headers=staff.headers,
            )
            outcomes[f"{name}:{field}"] = _outcome(refused, verbatim=False)
    in_category = http.get("/api/products", params={"category": injected_category, "limit": 100})
    count = len(in_category.json()["items"])

    _judge(outcomes, f"product create/update ({count} products in the test category)", figure)
    assert count == len(PAYLOADS), f"{count} products in {injected_category}, made {len(PAYLOADS)}"


def _search(http: httpx.Client, text: str) -> tuple[httpx.Response, list[dict[str, Any]]]:
    """Every product a search finds (all pages, at most 20), and the first page's answer."""
    first = http.get("/api/products", params={"q": text, "limit": 100})
    found, page = [], first
    for _ in range(20):
        if page.status_code != 200:
            break
        found += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
        page = http.get("/api/products", params={"q": text, "limit": 100, "cursor": cursor})
    return first, found


def test_injection_product_search_category_and_sku(
    http: httpx.Client, injected_products: dict[str, httpx.Response], figure: Figure
) -> None:
    outcomes: dict[str, str] = {}
    matched = 0
    for name, payload in PAYLOADS.items():
        first, found = _search(http, payload)
        ours = _json(injected_products[name]).get("id")
        matched += len(found)
        # Only what contains the text, the injected product among it: no widened filter.
        widened = [
            i["id"]
            for i in found
            if payload.lower() not in f"{i['name']} {i['description']}".lower()
        ]
        outcomes[f"{name}:q"] = _outcome(first, not widened and ours in [i["id"] for i in found])
        by_category = http.get("/api/products", params={"category": payload})
        outcomes[f"{name}:category"] = _outcome(by_category, verbatim=False)
        by_sku = http.get(f"/api/products/sku/{quote(payload, safe='')}")
        outcomes[f"{name}:sku"] = _outcome(by_sku, verbatim=False)

    _judge(outcomes, f"product search q / category / sku ({matched} products found)", figure)


def test_injection_order_shipping_fields(
    http: httpx.Client, goods: dict[str, Any], figure: Figure
) -> None:
    buyer = new_customer("owaspship")
    orders_before = query("orders", "SELECT count(*) AS n FROM orders")[0]["n"]
    outcomes: dict[str, str] = {}
    for name, payload in PAYLOADS.items():
        placed = place(http, buyer, order_body([(goods["id"], 1)]) | {"shipping_address": payload})
        order = _json(placed)
        read = http.get(f"/api/orders/{order['id']}", headers=buyer.headers).json() if order else {}
        outcomes[f"{name}:shipping_address"] = _outcome(
            placed, order.get("shipping_address") == read.get("shipping_address") == payload
        )
        region = place(http, buyer, order_body([(goods["id"], 1)]) | {"shipping_region": payload})
        outcomes[f"{name}:shipping_region"] = _outcome(region, verbatim=False)
    mine = _order_count(buyer.user_id)
    orders_after = query("orders", "SELECT count(*) AS n FROM orders")[0]["n"]

    _judge(
        outcomes,
        f"order fields (the buyer's orders {mine}, table {orders_before} -> {orders_after} rows)",
        figure,
    )
    assert mine == len(PAYLOADS), f"the buyer has {mine} orders, placed {len(PAYLOADS)}"
    assert orders_after >= orders_before + len(PAYLOADS), "the orders table lost rows"


def test_injection_refund_reason(
    http: httpx.Client, staff: Account, goods: dict[str, Any], figure: Figure
) -> None:
    buyer = new_customer("owasprefund")
    order = place(http, buyer, order_body([(goods["id"], 1)])).json()
    outcomes: dict[str, str] = {}
    for name, payload in PAYLOADS.items():
        refund = http.post(
            "/api/payments/refund",
            json={"payment_id": order["payment_id"], "amount": 0.01, "reason": payload},
            headers=staff.headers | {"Idempotency-Key": uuid.uuid4().hex},
        )
        outcomes[f"{name}:reason"] = _outcome(refund, _json(refund).get("reason") == payload)
    payment = http.get(f"/api/payments/{order['payment_id']}", headers=staff.headers).json()
    refunds = query(
        "payments", "SELECT reason FROM refunds WHERE payment_id = $1", order["payment_id"]
    )

    _judge(outcomes, f"refund reason (refunded {payment['refunded_amount']})", figure)
    assert sorted(r["reason"] for r in refunds) == sorted(PAYLOADS.values())
    assert payment["refunded_amount"] == round(0.01 * len(PAYLOADS), 2)


def _template_sample(http: httpx.Client, staff: Account, name: str) -> dict[str, Any]:
    templates = http.get("/api/notifications/templates", headers=staff.headers).json()["items"]
    sample: dict[str, Any] = next(t["sample"] for t in templates if t["name"] == name)
    return sample


def test_injection_template_previews_show_payloads_as_text_never_evaluated(
    http: httpx.Client, staff: Account, figure: Figure
) -> None:
    sample = _template_sample(http, staff, "order_confirmation")
    outcomes: dict[str, str] = {}
    for name, payload in PAYLOADS.items():
        items = [sample["items"][0] | {"product_name": payload}]
        response = http.post(
            "/api/notifications/templates/order_confirmation/preview",
            json={"data": sample | {"name": payload, "items": items}},
            headers=staff.headers,
        )
        rendered = _json(response)
        text, html = rendered.get("text", ""), rendered.get("html", "")
        # Text parts carry it as is, HTML escaped (no live markup), nothing evaluated.
        outcomes[f"{name}:order_confirmation"] = _outcome(
            response,
            f"Hello {payload}," in text
            and text.count(payload) >= 2  # the greeting and the item line
            and f"Hello {escape(payload)}," in html
            and ("<" not in payload or payload not in html),
        )
        manual = http.post(
            "/api/notifications/templates/manual/preview",
            json={"data": {"subject": payload, "message": payload}},
            headers=staff.headers,
        )
        rendered = _json(manual)
        outcomes[f"{name}:manual"] = _outcome(
            manual,
            rendered.get("subject") == payload
            and payload in rendered.get("text", "")
            and payload in (rendered.get("sms") or ""),
        )
    _judge(outcomes, "notification template previews", figure)


# -- API9: improper inventory management; API10: unsafe consumption of APIs --------------------


def test_api9_the_public_inventory_lists_only_routed_public_paths(
    http: httpx.Client, figure: Figure
) -> None:
    document = http.get("/api/openapi.json").json()
    paths = list(document["paths"])
    routed = ("users", "products", "orders", "payments", "notifications", "analytics")

    off_route = [p for p in paths if p.split("/")[1:3][0] != "api" or p.split("/")[2] not in routed]
    operational = [
        p for p in paths if any(w in p for w in ("/internal", "/health", "/ready", "/metrics"))
    ]
    internal_hosts = [
        port
        for port in ("5001", "5002", "5003", "5004", "5005", "5006")
        if f"127.0.0.1:{port}" in json.dumps(document)
    ]
    text = figure(
        f"API9 inventory: {len(paths)} public paths; outside the routed prefixes "
        f"{off_route}, operational {operational}, internal addresses {internal_hosts}"
    )
    assert paths, text
    assert not off_route, text
    assert not operational, text
    assert not internal_hosts, text


WEBHOOK_EVENT = {
    "id": "evt_owasp",
    "object": "event",
    "type": "payment_intent.succeeded",
    "data": {"object": {"id": "pi_owasp", "object": "payment_intent", "status": "succeeded"}},
}


@pytest.mark.parametrize("signature", ["none", "garbage", "wrong-secret", "old-timestamp"])
def test_api10_a_stripe_webhook_with_a_bad_signature_is_a_400(
    http: httpx.Client,
    staff: Account,
    alice_payment: dict[str, Any],
    signature: str,
    figure: Figure,
) -> None:
    event = WEBHOOK_EVENT | {
        "data": {
            "object": {
                "id": alice_payment["transaction_id"],
                "object": "payment_intent",
                "status": "canceled",
                "amount": 1,
            }
        },
        "type": "payment_intent.canceled",
    }
    payload = json.dumps(event).encode()
    headers = {"Content-Type": "application/json"}
    stamp = int(time.time()) - (3600 if signature == "old-timestamp" else 0)
    if signature == "garbage":
        headers["Stripe-Signature"] = "t=1,v1=deadbeef"
    elif signature in ("wrong-secret", "old-timestamp"):
        secret = b"whsec_not-ours" if signature == "wrong-secret" else b"whsec_guess"
        mac = hmac.new(secret, f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
        headers["Stripe-Signature"] = f"t={stamp},v1={mac}"

    response = http.post("/api/payments/webhook", content=payload, headers=headers)

    after = http.get(f"/api/payments/{alice_payment['id']}", headers=staff.headers).json()
    text = figure(
        f"API10 webhook ({signature} signature) -> {response.status_code}; Alice's payment "
        f"still {after['status']}"
    )
    assert _answered(response, 400), text
    assert response.json()["type"].endswith("/invalid-webhook-signature"), text
    assert after["status"] == alice_payment["status"] == "succeeded", text
