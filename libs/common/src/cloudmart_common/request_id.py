"""X-Request-ID: taken from the caller when well formed, else made; on every response."""

import random
import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cloudmart_common.context import request_id_var

REQUEST_ID_HEADER = "X-Request-ID"
# Anything else (spaces, CR/LF, 200 characters) could forge log lines or bloat them.
VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

_HEADER_KEY = REQUEST_ID_HEADER.lower().encode("latin-1")  # ASGI header names are lowercase


def _accepted(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    value = raw.decode("latin-1")
    # fullmatch: `$` alone would also accept a value ending in a newline.
    return value if VALID_REQUEST_ID.fullmatch(value) else None


class RequestIdMiddleware:
    """Pure ASGI, meant to be outermost: 500s and every other middleware see the id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((value for name, value in scope["headers"] if name == _HEADER_KEY), None)
        # A correlation id, not a secret: the PRNG, not uuid4's os.urandom syscall per request.
        request_id = _accepted(incoming) or f"{random.getrandbits(128):032x}"
        token = request_id_var.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])  # optional in ASGI, required by MutableHeaders
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
