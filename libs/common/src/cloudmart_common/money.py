"""Money: Decimal in code, NUMERIC(10,2) in PostgreSQL, a JSON number with two places."""

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated

from pydantic import Field, PlainSerializer

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("99999999.99")  # NUMERIC(10,2)


def two_places(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


# Pydantic writes Decimal as a JSON string by default; clients of DESIGN.md §8 expect a number.
Money = Annotated[
    Decimal,
    PlainSerializer(lambda amount: float(two_places(amount)), return_type=float, when_used="json"),
]

# An amount a client sends: positive, at most two places, fits NUMERIC(10,2).
Amount = Annotated[
    Decimal,
    Field(gt=0, le=MAX_AMOUNT, max_digits=10, decimal_places=2, allow_inf_nan=False),
]
