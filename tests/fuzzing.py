"""The rows and callers of the API fuzzers (tests/security): who calls each operation, and
how generated requests are kept on rows the fuzzer owns.

The stack is shared with other suites, so the fuzzers only change rows they own. Ids that
could name a real row (1 <= id < 2**31, as number or numeric string) in a writing operation are
redirected to products, orders, payments and accounts made here; ids outside that range (0,
negatives, 2**40, 2**63 ...) stay as generated, so parsing and range checks are still fuzzed.
"""

import dataclasses
import json
import re
import uuid
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx
import schemathesis
from schemathesis.generation import GenerationMode

from cloudmart_local.shop import GOOD_CARD
from tests.accounts import PASSWORD, Account, admin, new_customer, service_headers
from tests.shop import new_product
from tests.stack_control import card, readiness, service_url, wait_for

SERVICES = ("users", "products", "orders", "notifications", "payments", "dashboard")
# Every real row's id is below this; the fuzzer's own rows take the place of those ids.
PLAUSIBLE_IDS = 2**31
NOWHERE = 2**31 + 7  # a product id no catalog reaches: "unknown product" paths
PRODUCT = "/api/products/{product_id}"


@dataclass
class World:
    """Who calls, and the rows the fuzzer may change."""

    admin: Account
    customer: Account  # buys, saves cards, changes its own password
    profile: Account  # PUT /api/users/{id} edits this one
    victim: Account  # DELETE /api/users/{id} deletes this one
    service: dict[str, str]  # the orders service's token (payments' /process is for it only)
    edited_product: int  # PUT and PATCH .../stock
    doomed_product: int  # DELETE
    cart_product: int  # orders and reservations take stock from it
    status_order: int  # PATCH .../status
    cancelled_order: int  # DELETE /api/orders/{id}
    refund_payment: int  # POST /api/payments/refund
    created_products: list[int] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "World":
        raw = json.loads(text)
        people = ("admin", "customer", "profile", "victim")
        accounts = {name: Account(**raw[name]) for name in people}
        return cls(**(raw | accounts))


def _product(world_admin: Account, stock: int) -> int:
    product_id: int = new_product(world_admin, stock=stock, price=3.5, category="test-fuzz")["id"]
    return product_id


def _order(buyer: Account, product_id: int) -> dict[str, Any]:
    response = httpx.post(
        f"{service_url('orders')}/api/orders",
        json={
            "items": [{"product_id": product_id, "quantity": 1}],
            "shipping_address": "1 Fuzz Lane, Springfield",
            "payment_method": card(GOOD_CARD),
        },
        headers=buyer.headers | {"Idempotency-Key": uuid.uuid4().hex},
        timeout=60,
    )
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


def _ready(service: str) -> bool:
    return readiness(service)[0] == 200


def make_world() -> World:
    """Accounts, products, orders and a payment for the fuzzers to change."""
    # The fuzzer judges answers, not outages: start from a stack whose services are all ready
    # (a fault test that ran just before may have left one restarting).
    for name in SERVICES:
        wait_for(partial(_ready, name), timeout=90, what=f"{name} ready")
    staff = admin()
    buyer = new_customer("fuzz")
    cart = _product(staff, 1_000_000)
    refunded = _order(buyer, cart)
    return World(
        admin=staff,
        customer=buyer,
        profile=new_customer("fuzzprofile"),
        victim=new_customer("fuzzvictim"),
        service=service_headers("orders"),
        edited_product=_product(staff, 100),
        doomed_product=_product(staff, 1),
        cart_product=cart,
        status_order=_order(buyer, cart)["id"],
        cancelled_order=_order(buyer, cart)["id"],
        refund_payment=refunded["payment_id"],
    )


def clear_world(world: World) -> None:
    """What the fuzzer created in the catalog goes, so that no other suite lists it."""
    owned = [world.edited_product, world.doomed_product, world.cart_product]
    for product_id in [*world.created_products, *owned]:
        httpx.delete(
            f"{service_url('products')}/api/products/{product_id}",
            headers=world.admin.headers,
            timeout=30,
        )


# --- which caller an operation runs as ------------------------------------------------------

CUSTOMER_OPERATIONS = {
    ("POST", "/api/orders"),  # placed by users (a buyer); admins buy as customers do
    ("PUT", "/api/users/{user_id}/password"),  # owner only: needs the current password
    ("GET", "/api/payments/methods"),  # saved cards belong to the caller
    ("POST", "/api/payments/methods"),
    ("DELETE", "/api/payments/methods/{card_id}"),
}
SERVICE_OPERATIONS = {("POST", "/api/payments/process")}  # the orders service's saga only


def caller(operation: Any, world: World) -> dict[str, str]:
    key = (operation.method.upper(), operation.path)
    if not operation.definition.raw.get("security"):
        return {}  # an open route: anonymous, as its callers are
    if operation.path.startswith("/internal/") or key in SERVICE_OPERATIONS:
        return world.service
    if key in CUSTOMER_OPERATIONS:
        return world.customer.headers
    return world.admin.headers


# --- keeping the fuzzer on its own rows -----------------------------------------------------


def _names_a_row(value: object) -> bool:
    """Could this reach a handler as the id of an existing row (int, float or numeric string)?"""
    if isinstance(value, bool):
        return False
    if isinstance(value, str):
        try:
            value = float(value.replace("_", ""))  # also unicode digits, as int() parses them
        except ValueError:
            return False
    if isinstance(value, int | float):
        return float(value).is_integer() and 1 <= value < PLAUSIBLE_IDS
    return False


def _as(original: object, new_id: int) -> object:
    """`new_id` with the original's JSON type, so a case stays as valid or invalid as it was."""
    if isinstance(original, str):
        return str(new_id)
    if isinstance(original, float):
        return float(new_id)
    return new_id


Case = schemathesis.Case[Any]


def _redirect_path(case: Case, name: str, owned: int) -> None:
    params = case.path_parameters or {}
    if _names_a_row(params.get(name)):
        params[name] = _as(params[name], owned)


def _redirect_field(body: dict[str, Any], name: str, owned: int) -> None:
    if _names_a_row(body.get(name)):
        body[name] = _as(body[name], owned)


def _prefix(values: MutableMapping[str, Any] | None, name: str, prefix: str) -> None:
    if values is not None and isinstance(values.get(name), str):
        values[name] = prefix + values[name]


def _redirect_lines(body: dict[str, Any], first: int) -> None:
    """Order and reservation lines: the first real-looking product id becomes ours, the others
    name no product at all."""
    lines = body.get("items", body.get("lines"))
    if not isinstance(lines, list):
        return
    spare = iter(range(NOWHERE, NOWHERE + 1000))
    for line in lines:
        if isinstance(line, dict) and _names_a_row(line.get("product_id")):
            line["product_id"] = _as(line["product_id"], first)
            first = next(spare)


def _halved(value: object) -> bool:
    """Half the generated strings (even length): the ones given a real value instead."""
    return isinstance(value, str) and len(value) % 2 == 0


def _real_card(body: dict[str, Any]) -> None:
    """Half the well-formed payment method ids become a real test card: the saga runs to the
    end (charge, paid order, emails) instead of stopping at an unknown PaymentMethod."""
    method = body.get("payment_method")
    if _halved(method) and re.fullmatch(r"pm_[A-Za-z0-9_]{1,250}", str(method)):
        body["payment_method"] = card(GOOD_CARD)


def _real_password(body: dict[str, Any], name: str) -> None:
    """Half the passwords become strong ones, which no schema can describe: registrations then
    get past the strength rule to the rest of the checks."""
    if _halved(body.get(name)):
        body[name] = f"Fz-{body[name]}-Strong-42"[:128]


def confine(case: Case, world: World, mode: GenerationMode) -> None:
    """Point a writing operation's ids at the fuzzer's own rows (see the module docstring).

    Ids keep their JSON type, so an invalid case stays invalid; real values (a card, a strong
    password, an account's credentials) replace generated ones in valid cases only.
    """
    key = (case.operation.method.upper(), case.operation.path)
    body: dict[str, Any] = case.body if isinstance(case.body, dict) else {}
    real = mode is GenerationMode.POSITIVE
    if key == ("PUT", "/api/users/{user_id}"):
        _redirect_path(case, "user_id", world.profile.user_id)
    elif key == ("DELETE", "/api/users/{user_id}"):
        _redirect_path(case, "user_id", world.victim.user_id)
    elif key == ("PUT", "/api/users/{user_id}/password"):
        _redirect_path(case, "user_id", world.customer.user_id)
    elif key == ("POST", "/api/users/register"):
        if real:
            _real_password(body, "password")
    elif key == ("POST", "/api/users/login"):
        if real and _halved(body.get("password")):  # a real login: its 200 and tokens checked
            body.update(username=world.customer.username, password=PASSWORD)
        else:  # never an account another suite logs in with (the gateway limits per username)
            _prefix(body, "username", "fuzz-")
    elif key in {("PUT", PRODUCT), ("PATCH", f"{PRODUCT}/stock")}:
        _redirect_path(case, "product_id", world.edited_product)
    elif key == ("DELETE", PRODUCT):
        _redirect_path(case, "product_id", world.doomed_product)
    elif key == ("POST", "/internal/reservations"):
        # Reservations are keyed by order id: ours carry a prefix no order id has.
        _prefix(body, "order_id", "fz:")
        _redirect_lines(body, world.cart_product)
    elif key == ("POST", "/internal/reservations/{order_id}/release"):
        _prefix(case.path_parameters, "order_id", "fz:")
    elif key == ("POST", "/api/orders"):
        _redirect_lines(body, world.cart_product)
        if real:
            _real_card(body)
    elif key == ("PATCH", "/api/orders/{order_id}/status"):
        _redirect_path(case, "order_id", world.status_order)
    elif key == ("DELETE", "/api/orders/{order_id}"):
        _redirect_path(case, "order_id", world.cancelled_order)
    elif key == ("POST", "/api/payments/process"):
        # One payment per order: a fuzzed payment for a future order id would refuse that
        # order's real charge. An order of ours already has its payment: reported, or a 409.
        _redirect_field(body, "order_id", world.status_order)
        _prefix(case.headers, "Idempotency-Key", "fuzz-")  # the orders service's key space
    elif key == ("POST", "/api/payments/refund"):
        _redirect_field(body, "payment_id", world.refund_payment)
    elif key == ("POST", "/api/payments/methods") and real:
        _real_card(body)
    elif key == ("POST", "/api/notifications/send"):
        _redirect_field(body, "user_id", world.customer.user_id)
