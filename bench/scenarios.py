"""The CloudMart figures: catalog reads at fixed concurrency (hey) and the Locust scenarios."""

import httpx

from bench.figures import Figure, hey, locust
from bench.shop import GATEWAY, PRODUCTS


def catalog_reads(concurrency: int = 50, seconds: int = 15) -> list[Figure]:
    """One product read, through the gateway and direct: both served from products' Redis cache."""
    first = httpx.get(f"{PRODUCTS}/api/products?limit=1", timeout=10).json()["items"]
    if not first:
        raise SystemExit("the catalog is empty: `make up` loads the demo catalog")
    path = f"/api/products/{first[0]['id']}"
    figures = []
    for name, base in (
        ("catalog read via gateway (cached)", GATEWAY),
        ("catalog read direct to products", PRODUCTS),
    ):
        hey("warm", base + path, concurrency=4, seconds=1)
        figures.append(hey(name, base + path, concurrency=concurrency, seconds=seconds))
    return figures


def browsing(users: int, seconds: int) -> Figure:
    return locust("browsing", ["BrowsingUser"], host=GATEWAY, users=users, seconds=seconds)


def checkout(users: int, seconds: int) -> Figure:
    """Orders per second at `users` concurrent buyers (each registers and logs in once)."""
    return locust(
        "checkout e2e",
        ["CheckoutUser"],
        host=GATEWAY,
        users=users,
        seconds=seconds,
        row="/api/orders",
        unit="orders",
        # Registration and login hash passwords (argon2): 100 arriving within seconds would
        # measure the hashing storm on 2 cores, not the checkout.
        spawn_seconds=20,
    )


def mixed(users: int, seconds: int) -> Figure:
    return locust("mixed traffic", [], host=GATEWAY, users=users, seconds=seconds)
