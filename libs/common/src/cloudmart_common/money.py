"""Money: Decimal in code, NUMERIC(10,2) in PostgreSQL, a JSON number with two places."""

import math
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated

from pydantic import BeforeValidator, Field, PlainSerializer, WithJsonSchema

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("99999999.99")  # NUMERIC(10,2)


def two_places(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


# Pydantic writes Decimal as a JSON string; clients (architecture.md §8) expect a number.
Money = Annotated[
    Decimal,
    PlainSerializer(lambda amount: float(two_places(amount)), return_type=float, when_used="json"),
]


def _cents_of_json_number(value: object) -> object:
    """A JSON number is a binary float: 0.1 + 0.2 arrives as 0.30000000000000004. One within
    float error of a whole number of cents means those cents; any other keeps its digits (and
    more than two places is refused)."""
    if isinstance(value, float) and math.isfinite(value):
        cents = round(value, 2)
        if math.isclose(value, cents, rel_tol=1e-12, abs_tol=1e-9):
            return Decimal(repr(cents))
    return value


# A decimal string above zero with at most 8 digits before the point and 2 after it.
POSITIVE_CENTS = r"^0*([1-9][0-9]{0,7}(\.[0-9]{1,2})?|0?\.([1-9][0-9]?|0[1-9]))$"
# An amount a client sends: positive, at most two places, fits NUMERIC(10,2). The document
# says so exactly: a number in cents, or a decimal string with at most two places.
Amount = Annotated[
    Decimal,
    BeforeValidator(_cents_of_json_number),
    Field(gt=0, le=MAX_AMOUNT, max_digits=10, decimal_places=2, allow_inf_nan=False),
    WithJsonSchema(
        {
            "anyOf": [
                {
                    "type": "number",
                    "exclusiveMinimum": 0,
                    "maximum": float(MAX_AMOUNT),
                    "multipleOf": 0.01,
                },
                {"type": "string", "pattern": POSITIVE_CENTS},
            ]
        }
    ),
]
