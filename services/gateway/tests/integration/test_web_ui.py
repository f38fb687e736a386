"""The gateway serving the built web UI: pages, assets, deep links, its config, its CSP."""

import re
from collections.abc import Iterator

import httpx
import pytest

from cloudmart_local.layout import LOCALSTRIPE_PORT
from tests.stack_control import service_url


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service_url("gateway"), timeout=30) as client:
        yield client


def test_the_storefront_is_served_at_the_root(http: httpx.Client) -> None:
    page = http.get("/")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"
    assert '<div id="app">' in page.text
    [asset] = re.findall(r'src="(/assets/[^"]+\.js)"', page.text)
    script = http.get(asset)
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert "immutable" in script.headers["cache-control"]


@pytest.mark.parametrize("path", ["/products/7", "/admin/orders", "/reset-password?token=x"])
def test_deep_links_of_the_ui_answer_its_page(http: httpx.Client, path: str) -> None:
    page = http.get(path)

    assert page.status_code == 200
    assert '<div id="app">' in page.text


@pytest.mark.parametrize(
    "path",
    ["/assets/missing.js", "/favicon.ico", "/..%2f..%2fetc/passwd", "/%2e%2e/pyproject.toml"],
)
def test_missing_files_and_climbing_out_are_404_problems(http: httpx.Client, path: str) -> None:
    response = http.get(path)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "root:" not in response.text


@pytest.mark.parametrize("path", ["/api/nothing-here", "/internal/users/1", "/metrics/x"])
def test_api_and_service_paths_never_fall_back_to_the_ui(http: httpx.Client, path: str) -> None:
    unknown = http.get(path)

    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"


def test_the_ui_config_and_the_csp_let_the_checkout_reach_stripe_only(http: httpx.Client) -> None:
    config = http.get("/config.json").json()
    csp = http.get("/").headers["content-security-policy"]

    stripe = f"http://127.0.0.1:{LOCALSTRIPE_PORT}"
    assert config["stripe_api_base"] == stripe
    assert config["stripe_publishable_key"].startswith("pk_test_")
    assert {card["number"] for card in config["test_cards"]} >= {"4242 4242 4242 4242"}
    assert f"connect-src 'self' {stripe};" in csp
    assert "frame-ancestors 'none'" in csp


def test_stripe_takes_a_publishable_key_for_payment_methods_only() -> None:
    card = {
        "type": "card",
        "card[number]": "4242424242424242",
        "card[exp_month]": "12",
        "card[exp_year]": "2034",
        "card[cvc]": "123",
    }
    stripe = f"http://127.0.0.1:{LOCALSTRIPE_PORT}/v1"

    created = httpx.post(f"{stripe}/payment_methods", data={**card, "key": "pk_test_local"})
    charges = httpx.get(f"{stripe}/charges", params={"key": "pk_test_local"})
    anonymous = httpx.post(f"{stripe}/payment_methods", data=card)

    assert created.status_code == 200
    assert created.json()["id"].startswith("pm_")
    assert charges.status_code == 401
    assert anonymous.status_code == 401
