"""The admin console in the browser: products managed end to end, the notification log,
and customers kept out."""

import uuid

from playwright.sync_api import Page, expect

from tests.accounts import new_customer
from tests.browser import gateway_url, log_in
from tests.stack_control import stock_of


def test_an_admin_creates_adjusts_edits_and_deletes_a_product(admin_page: Page) -> None:
    page = admin_page
    name, sku = f"Console lamp {uuid.uuid4().hex[:6]}", f"WEB-{uuid.uuid4().hex[:8].upper()}"
    page.goto(gateway_url("/admin/products"))
    page.get_by_role("button", name="New product").click()
    form = page.get_by_role("form", name="New product")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Price").fill("24.90")
    form.get_by_label("Category").fill("home")
    form.get_by_label("SKU").fill(sku)
    form.get_by_label("Initial stock").fill("5")
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text(f"{name} created")

    page.get_by_role("searchbox", name="Search").fill(name)
    page.get_by_role("button", name="Search").click()
    row = page.get_by_test_id("admin-products").locator("tr", has_text=name)
    expect(row).to_contain_text("$24.90")
    product_id = int(row.get_attribute("data-product-id") or 0)
    row.get_by_label(f"Adjust stock of {name}").fill("7")
    row.get_by_role("button", name="Apply").click()
    expect(row.locator("td").nth(3)).to_have_text("12")
    assert stock_of(product_id) == 12

    row.get_by_role("button", name=f"Edit {name}").click()
    page.get_by_role("form", name="Edit product").get_by_label("Price").fill("19.99")
    page.get_by_role("form", name="Edit product").get_by_role("button", name="Save").click()
    expect(row).to_contain_text("$19.99")

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name=f"Delete {name}").click()
    expect(page.get_by_role("status")).to_contain_text(f"{name} deleted")
    expect(row).to_have_count(0)


def test_the_notification_log_lists_what_was_sent(admin_page: Page) -> None:
    admin_page.goto(gateway_url("/admin/notifications"))
    rows = admin_page.get_by_test_id("notifications").locator("tbody tr")
    expect(rows.first).to_be_visible()
    expect(rows.first).to_contain_text("@")  # a recipient


def test_customers_are_kept_out_of_the_console(page: Page) -> None:
    buyer = new_customer("webnosy")
    log_in(page, buyer.username, then="/admin/orders")
    expect(page.get_by_role("alert")).to_contain_text("for administrators")
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)
