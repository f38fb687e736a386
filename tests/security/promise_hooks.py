"""Schemathesis hooks of the promise run (tests/security/test_api_promises.py), loaded by the
`st` process through SCHEMATHESIS_HOOKS.

Every case stays on the fuzzer's own rows (tests/fuzzing.py). A valid (positive) case also
gets, as a client would have them, the values that are data rather than shape, which no schema
can describe; each is a documented exception to "every schema-valid request is accepted":
- a PaymentMethod id Stripe issued (a real test card), since any other is declined;
- a password that passes the strength rule (a mix of three kinds of characters);
- no `cursor` of its own making: a cursor continues the listing that issued it;
- a fresh Idempotency-Key: one key names one request, so reusing it with another body is
  refused by design (and the coverage phase sends the same value many times);
- order lines naming one product that exists (the catalog is data): the first line, on the
  fuzzer's product;
- an email address in a domain that can receive mail: the schema's `format: email` allows the
  special-use names of RFC 6761 (`.test`, `.invalid`, ...), which registration refuses.
The products it creates are noted for removal.
"""

import os
import uuid
from pathlib import Path
from typing import Any

import schemathesis
from email_validator import SPECIAL_USE_DOMAIN_NAMES as SPECIAL_USE
from schemathesis.generation import GenerationMode

from cloudmart_local.shop import GOOD_CARD
from tests.fuzzing import Case, World, confine
from tests.stack_control import card

WORLD = World.from_json(os.environ["CLOUDMART_FUZZ_WORLD"])
CREATED = Path(os.environ["CLOUDMART_FUZZ_CREATED"])
CARD_FIELDS = ("payment_method",)
PASSWORD_FIELDS = ("password", "new_password")


def _strong_password(username: str) -> str:
    """One the strength rule takes, which also means: not containing the username (a generated
    `000` is in a random hex string now and then)."""
    while True:
        password = f"Fz-{uuid.uuid4().hex}-Strong-42"
        if not username or username.lower() not in password.lower():
            return password


def _as_a_client_would(case: Case) -> None:
    body: dict[str, Any] = case.body if isinstance(case.body, dict) else {}
    for name in CARD_FIELDS:
        if isinstance(body.get(name), str):
            body[name] = card(GOOD_CARD)
    for name in PASSWORD_FIELDS:
        if isinstance(body.get(name), str):
            body[name] = _strong_password(str(body.get("username", "")))
    if case.query and "cursor" in case.query:
        del case.query["cursor"]
    if case.headers and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = f"fuzz-{uuid.uuid4().hex}"
    email = body.get("email")
    if isinstance(email, str) and "@" in email:
        local, domain = email.rsplit("@", 1)
        labels = domain.lower().rstrip(".").split(".")
        special = {".".join(labels[i:]) for i in range(len(labels))} & set(SPECIAL_USE)
        if special:
            body["email"] = f"{local}@example.com"
    lines = body.get("items")
    if isinstance(lines, list) and lines and isinstance(lines[0], dict):
        body["items"] = [lines[0] | {"product_id": WORLD.cart_product}]


@schemathesis.hook
def before_call(context: Any, case: Case, kwargs: dict[str, Any]) -> None:
    meta = case.meta
    mode = meta.generation.mode if meta is not None else GenerationMode.POSITIVE
    confine(case, WORLD, mode)
    if mode is GenerationMode.POSITIVE:
        _as_a_client_would(case)


@schemathesis.hook
def after_call(context: Any, case: Case, response: Any) -> None:
    created_product = (case.method.upper(), case.path) == ("POST", "/api/products")
    if created_product and response.status_code == 201:
        with CREATED.open("a") as created:
            created.write(f"{response.json()['id']}\n")
