"""Message templates (Jinja2): which event each serves, who receives it, sample data, rendering.

A template `<name>` is up to four files in `templates/`: `<name>.subject.txt`, `<name>.txt`,
`<name>.html` and, for templates that may go by SMS or push, `<name>.sms.txt`.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from babel import Locale
from babel.dates import format_datetime
from babel.numbers import format_currency
from jinja2 import (
    Environment,
    PackageLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    select_autoescape,
)

from cloudmart_notifications.errors import TemplateDataInvalid, TemplateMissing

Audience = Literal["buyer", "addressee", "admins", "given"]

_SAMPLE_ITEMS = [
    {"product_id": 7, "product_name": "Laptop", "quantity": 1, "price": 999.99},
    {"product_id": 12, "product_name": "USB-C cable", "quantity": 2, "price": 9.5},
]
_SAMPLE_ORDER = {
    "order_id": 123,
    "user_id": 456,
    "total_amount": 1018.99,
    "currency": "USD",
    "items": _SAMPLE_ITEMS,
    "shipping_region": "us-east",
    "timestamp": "2026-11-23T10:30:00Z",
    "name": "Ada Lovelace",
}


@dataclass(frozen=True)
class TemplateSpec:
    name: str
    event_types: tuple[str, ...]
    audience: Audience  # buyer: the event's user_id; addressee: the event's email; admins
    sample: Mapping[str, Any]
    sms: bool = False  # also sent by SMS to a buyer with a phone number
    description: str = ""


TEMPLATES: dict[str, TemplateSpec] = {
    spec.name: spec
    for spec in (
        TemplateSpec(
            "order_confirmation",
            ("order_created",),
            "buyer",
            _SAMPLE_ORDER | {"status": "pending"},
            description="Order placed: its items and total",
        ),
        TemplateSpec(
            "payment_confirmation",
            ("order_paid",),
            "buyer",
            _SAMPLE_ORDER | {"status": "processing", "payment_id": 98},
            description="Payment received; the order is being prepared",
        ),
        TemplateSpec(
            "order_shipped",
            ("order_shipped",),
            "buyer",
            _SAMPLE_ORDER | {"status": "shipped"},
            sms=True,
            description="Order shipped (also by SMS when the buyer has a phone number)",
        ),
        TemplateSpec(
            "order_delivered",
            ("order_delivered",),
            "buyer",
            _SAMPLE_ORDER | {"status": "delivered"},
            description="Order delivered",
        ),
        TemplateSpec(
            "order_cancelled",
            ("order_cancelled",),
            "buyer",
            _SAMPLE_ORDER
            | {"status": "cancelled", "cancel_reason": "out of stock", "refunded": False},
            description="Order cancelled, and whether money goes back",
        ),
        TemplateSpec(
            "refund",
            ("payment_refunded",),
            "buyer",
            {
                "order_id": 123,
                "user_id": 456,
                "amount": 1018.99,
                "refund_amount": 9.5,
                "refunded_amount": 9.5,
                "currency": "USD",
                "reason": "item returned",
                "name": "Ada Lovelace",
            },
            description="Money refunded to the card",
        ),
        TemplateSpec(
            "password_reset",
            ("password_reset_requested",),
            "addressee",
            {
                "username": "ada",
                "email": "ada@example.com",
                "name": "Ada Lovelace",
                "reset_token": "sample-token",
                "expires_at": "2026-11-23T11:00:00Z",
            },
            description="Password reset link",
        ),
        TemplateSpec(
            "low_stock",
            ("stock_low",),
            "admins",
            {
                "product_id": 7,
                "product_name": "Laptop",
                "sku": "LAP-0007",
                "stock_quantity": 3,
                "threshold": 10,
            },
            description="A product fell below the low-stock threshold (to the admins)",
        ),
        TemplateSpec(
            "manual",
            (),
            "given",
            {"subject": "Your order", "message": "We are looking into your question."},
            sms=True,
            description="A message an admin or a service sends by hand",
        ),
    )
}
TEMPLATE_OF_EVENT = {event: spec for spec in TEMPLATES.values() for event in spec.event_types}


def spec_named(name: str) -> TemplateSpec:
    spec = TEMPLATES.get(name)
    if spec is None:
        raise TemplateMissing(f"no template {name!r}")
    return spec


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    sms: str | None


# Parsed once: by name, babel parses the locale on every call, half of an amount's formatting
# (an order confirmation formats a dozen).
EN_US = Locale.parse("en_US")


def money(amount: Any, currency: str = "USD") -> str:
    """`$1,018.99`: two places, the currency's symbol, grouped thousands."""
    return str(format_currency(Decimal(str(amount)), currency, locale=EN_US))


def when(moment: Any) -> str:
    """`Nov 23, 2026, 10:30 AM UTC` from an ISO 8601 timestamp or a datetime."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if not isinstance(moment, datetime):
        raise TypeError(f"not a timestamp: {moment!r}")
    return str(format_datetime(moment.astimezone(UTC), "MMM d, y, h:mm a 'UTC'", locale="en_US"))


def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("cloudmart_notifications", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,  # a missing field is an error, never an empty hole
        trim_blocks=True,
        keep_trailing_newline=False,
    )
    environment.filters["money"] = money
    environment.filters["when"] = when
    return environment


class Templates:
    def __init__(self, shop_url: str) -> None:
        self._environment = _environment()
        self._shop_url = shop_url

    def render(self, name: str, data: Mapping[str, Any]) -> Rendered:
        spec = spec_named(name)
        # The shop's address is a setting: data (an event, an admin's send) never moves links.
        context = {**data, "shop_url": self._shop_url}
        try:
            return Rendered(
                subject=self._one(f"{name}.subject.txt", context).strip(),
                text=self._one(f"{name}.txt", context),
                html=self._one(f"{name}.html", context),
                sms=self._one(f"{name}.sms.txt", context).strip() if spec.sms else None,
            )
        except TemplateNotFound as exc:
            raise TemplateMissing(f"template {name!r} lacks {exc.name}") from exc
        except (TemplateError, TypeError, ValueError, ArithmeticError) as exc:
            raise TemplateDataInvalid(f"{name}: {exc}") from exc

    def _one(self, file: str, context: Mapping[str, Any]) -> str:
        return self._environment.get_template(file).render(context)
