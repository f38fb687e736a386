"""A shopper and an admin in real browsers: register, search, cart, checkout, decline,
shipping seen live, and the new revenue on the live analytics dashboard."""

import re
import time
import uuid
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from cloudmart_local.layout import ANALYTICS_WINDOW_SECONDS
from cloudmart_local.shop import DECLINED_CARD
from tests.accounts import Account, admin, new_customer
from tests.browser import (
    add_to_cart,
    gateway_url,
    log_in,
    order_id_of,
    pay,
    register,
    screenshot,
)
from tests.shop import new_product, order_body, place
from tests.stack_control import service_url


def _products(staff: Account, tag: str, *prices: float) -> list[dict[str, Any]]:
    """Products with one word in common, so that a search finds exactly them."""
    made = []
    for number, price in enumerate(prices):
        product = new_product(staff, price=price)
        response = httpx.put(
            f"{service_url('products')}/api/products/{product['id']}",
            json={"name": f"Web {tag} item {number}"},
            headers=staff.headers,
            timeout=30,
        )
        assert response.status_code == 200, response.text
        made.append(response.json())
    return made


def _search(page: Page, text: str) -> None:
    page.get_by_role("searchbox", name="Search").fill(text)
    page.get_by_role("button", name="Search").click()


def _close_window(staff: Account) -> None:
    """Event time moves on only with newer orders: one after the window's end."""
    time.sleep(ANALYTICS_WINDOW_SECONDS + 6)
    buyer, filler = new_customer("filler"), new_product(staff, stock=10, price=1)
    with httpx.Client(base_url=service_url("gateway"), timeout=60) as http:
        assert place(http, buyer, order_body([(filler["id"], 1)])).status_code == 201


def test_a_shopper_buys_two_products_and_sees_them_shipped_live(
    page: Page, admin_page: Page
) -> None:
    staff, tag = admin(), uuid.uuid4().hex[:8]
    first, second = _products(staff, tag, 19.5, 7.25)
    register(page, f"web{tag}")

    page.goto(gateway_url("/"))
    _search(page, tag)
    cards = page.get_by_test_id("product-card")
    expect(cards).to_have_count(2)
    add_to_cart(page, first["name"])
    add_to_cart(page, second["name"])
    screenshot(page, "storefront")
    expect(page.get_by_test_id("cart-link")).to_contain_text("2")

    page.get_by_test_id("cart-link").click()
    page.reload()  # the cart survives a reload
    expect(page.get_by_test_id("cart-line")).to_have_count(2)
    expect(page.get_by_test_id("cart-total")).to_have_text("$26.75")
    page.get_by_role("button", name="Checkout").click()
    expect(page.get_by_label("Shipping address")).to_have_value("12 Test Street, Springfield")
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    screenshot(page, "checkout")
    pay(page)

    order_id = order_id_of(page)
    expect(page.get_by_role("status").filter(has_text="Thank you")).to_be_visible()
    status = page.get_by_test_id("order-status")
    expect(status).to_have_text("processing")
    expect(page.get_by_test_id("cart-link")).to_contain_text("0")

    console = admin_page
    console.goto(gateway_url(f"/admin/orders?id={order_id}"))
    console.get_by_role("button", name="Mark as shipped").click()
    expect(console.get_by_role("status").filter(has_text="now shipped")).to_be_visible()
    # The shopper's page, untouched since, follows on its own.
    expect(status).to_have_text("shipped", timeout=15_000)

    console.goto(gateway_url("/admin"))
    expect(console.get_by_test_id("stream-state")).to_have_text("Live")
    _close_window(staff)
    row = console.get_by_test_id("windows").locator("tr", has_text=first["name"])
    # Pushed by the stream: no reload. Window, watermark and a Kafka transaction commit.
    expect(row).to_be_visible(timeout=(ANALYTICS_WINDOW_SECONDS + 60) * 1000)
    expect(row).to_contain_text(second["name"])
    revenue = float(re.sub(r"[^0-9.]", "", row.locator("td").nth(2).inner_text()))
    assert revenue >= 26.75
    screenshot(console, "dashboard")


def test_a_declined_card_shows_the_decline_and_keeps_the_cart(page: Page) -> None:
    staff, buyer = admin(), new_customer("webdecline")
    [product] = _products(staff, uuid.uuid4().hex[:8], 5)
    log_in(page, buyer.username, then=f"/products/{product['id']}")
    page.get_by_role("button", name="Add to cart").click()
    page.goto(gateway_url("/checkout"))
    page.get_by_label("Shipping address").fill("1 Decline Road")
    pay(page, DECLINED_CARD)

    decline = page.get_by_test_id("decline")
    expect(decline).to_be_visible()
    expect(decline).to_contain_text("declined")
    screenshot(page, "checkout-declined")
    assert "/checkout" in page.url
    expect(page.get_by_test_id("cart-link")).to_contain_text("1")
