"""Phone-sized screens and accessible forms: every field labelled, nothing wider than the screen."""

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.accounts import admin
from tests.browser import PHONE, gateway_url, new_context, screenshot
from tests.shop import new_product

UNLABELLED_FIELDS = """() => [...document.querySelectorAll('input, select, textarea')]
    .filter(f => f.type !== 'hidden' && f.labels.length === 0 && !f.getAttribute('aria-label'))
    .map(f => f.name || f.outerHTML)"""


@pytest.mark.parametrize("path", ["/", "/register", "/login", "/forgot-password", "/cart"])
def test_public_pages_fit_a_phone_and_label_every_field(browser: Browser, path: str) -> None:
    if path == "/":
        # Its own product: the demo catalog is gone after an emulator restart (stack tests).
        new_product(admin())
    context = new_context(browser, phone=True)
    try:
        page = context.new_page()
        page.goto(gateway_url(path))
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        if path == "/":
            expect(page.get_by_test_id("product-card").first).to_be_visible()
            screenshot(page, "storefront-phone")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert page.evaluate(UNLABELLED_FIELDS) == []
    finally:
        context.close()


@pytest.mark.parametrize("path", ["/admin/products", "/admin/orders", "/account"])
def test_signed_in_pages_label_every_field(admin_page: Page, path: str) -> None:
    page = admin_page
    page.goto(gateway_url(path))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("form").first).to_be_visible()
    assert page.evaluate(UNLABELLED_FIELDS) == []
