"""Security headers on every response of the gateway (the public edge)."""

from starlette.datastructures import MutableHeaders
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
    def __init__(self, app: ASGIApp, stripe_api_base: str) -> None:
        self.app = app
        self.headers = {
            **SECURITY_HEADERS,
            "Content-Security-Policy": content_security_policy(stripe_api_base),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
                # Not the services' business to tell the world what they run on.
                if "server" in headers:
                    del headers["server"]
            await send(message)

        await self.app(scope, receive, send_with_headers)
