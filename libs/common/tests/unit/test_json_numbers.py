"""Amounts and counts take what their JSON Schema says, nothing more and nothing less."""

import re
from decimal import Decimal
from typing import Annotated, Any

import pytest
from pydantic import Field, TypeAdapter, ValidationError

from cloudmart_common.json_numbers import JSON_INTEGER
from cloudmart_common.money import POSITIVE_CENTS, Amount

COUNT = TypeAdapter(Annotated[int, Field(ge=1, le=1000), JSON_INTEGER])
AMOUNT = TypeAdapter(Amount)


@pytest.mark.parametrize(("value", "taken"), [(5, 5), (5.0, 5), (1000, 1000)])
def test_a_count_takes_json_integers(value: Any, taken: int) -> None:
    assert COUNT.validate_python(value) == taken


@pytest.mark.parametrize("value", [True, False, "5", b"5", 5.5, 0, 1001, None])
def test_a_count_refuses_what_json_schema_calls_no_integer_or_out_of_bounds(value: Any) -> None:
    with pytest.raises(ValidationError):
        COUNT.validate_python(value)


def test_a_count_keeps_its_bounds_in_the_document() -> None:
    assert COUNT.json_schema() == {"type": "integer", "minimum": 1, "maximum": 1000}


@pytest.mark.parametrize(
    ("value", "taken"),
    [
        (0.1 + 0.2, Decimal("0.3")),  # a float one rounding error off a cent
        (19.99, Decimal("19.99")),
        ("12.5", Decimal("12.5")),
        ("0.01", Decimal("0.01")),
        (99999999.99, Decimal("99999999.99")),
    ],
)
def test_an_amount_takes_cents(value: Any, taken: Decimal) -> None:
    assert AMOUNT.validate_python(value) == taken


@pytest.mark.parametrize("value", [0.001, 0, "0", "0.00", "", "1.234", 1e9, "abc", float("nan")])
def test_an_amount_refuses_what_is_not_a_positive_number_of_cents(value: Any) -> None:
    with pytest.raises(ValidationError):
        AMOUNT.validate_python(value)


@pytest.mark.parametrize(
    "text", ["0", "0.00", "", "1.234", "123456789", "12.5", "0.01", ".5", "00.05", "7"]
)
def test_the_documented_string_pattern_matches_exactly_the_strings_taken(text: str) -> None:
    documented = re.fullmatch(POSITIVE_CENTS, text) is not None
    try:
        AMOUNT.validate_python(text)
        taken = True
    except ValidationError:
        taken = False
    assert documented == taken
