"""Security headers on every response of the gateway (the public edge)."""

from collections.abc import Sequence

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def content_security_policy(stripe_api_base: str) -> str:
    """Same-origin, except the API docs page (Swagger UI from its CDN) and the checkout,
    which sends card details straight to Stripe's API (never through CloudMart)."""
    return (
        "default-src 'self'; img-src 'self' data: https:; "
        "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
        "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
        f"connect-src 'self' {stripe_api_base.rstrip('/')}; "
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    )


class SecurityHeadersMiddleware:
    """Adds the headers a response lacks and drops `server`, on the raw ASGI header list
    (a MutableHeaders per response cost more than the rest of this layer)."""

    def __init__(self, app: ASGIApp, stripe_api_base: str) -> None:
        self.app = app
        headers = {
            **SECURITY_HEADERS,
            "Content-Security-Policy": content_security_policy(stripe_api_base),
        }
        self.headers = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
        self.names = frozenset(name for name, _value in self.headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Not the services' business to tell the world what they run on.
                headers = []
                present = []
                for header in message.get("headers", ()):
                    name = header[0]
                    if name == b"server":
                        continue
                    headers.append(header)
                    if name in self.names:
                        present.append(name)
                headers.extend(
                    [h for h in self.headers if h[0] not in present] if present else self.headers
                )
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class CorsForOrigins:
    """Starlette's CORS middleware, consulted only for requests that carry an `Origin`.

    A request without one is same-origin or not from a browser: CORS has nothing to say
    about it, and Starlette's middleware parsed every request's headers to find that out.
    """

    def __init__(
        self,
        app: ASGIApp,
        allow_origins: Sequence[str],
        allow_methods: Sequence[str],
        allow_headers: Sequence[str],
        expose_headers: Sequence[str],
        max_age: int,
    ) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=allow_origins,
            allow_methods=allow_methods,
            allow_headers=allow_headers,
            expose_headers=expose_headers,
            max_age=max_age,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and any(name == b"origin" for name, _ in scope["headers"]):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
