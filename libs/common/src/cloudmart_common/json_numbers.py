"""Numbers as JSON Schema counts them, which is not what pydantic's lax mode takes.

JSON Schema's `integer` is any number with no fraction: `5.0` is one. pydantic (lax) takes
`5.0` too, but also `true` as 1 and `"5"` as 5, which the document calls invalid; strict mode
refuses all three. With `JSON_INTEGER` last in its `Annotated` (after the bounds, which then
stay in the document as `minimum` and `maximum`), an `int` takes exactly what the document
allows: `Annotated[int, Field(ge=1), JSON_INTEGER]`.
"""

from pydantic import BeforeValidator


def _json_integer(value: object) -> object:
    if isinstance(value, bool | str | bytes):
        raise ValueError("expected a JSON integer")
    return value


JSON_INTEGER = BeforeValidator(_json_integer)
