"""The web UI as people use it: Debian's Chromium driven by Playwright, through the gateway.

Playwright's own browser download cannot run here; the system Chromium (local/install.sh)
does. Screenshots go to artifacts/screenshots/ (git-ignored) for people to look at.
"""

import re
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, Playwright, StorageState, expect

from cloudmart_local.shop import GOOD_CARD
from tests.accounts import PASSWORD
from tests.stack_control import service_url

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        # As root in a container there is no user namespace for Chromium's sandbox.
        args=["--no-sandbox", "--disable-dev-shm-usage"],
    )


def new_context(
    browser: Browser, *, phone: bool = False, state: StorageState | None = None
) -> BrowserContext:
    if phone:
        context = browser.new_context(
            viewport=PHONE,  # type: ignore[arg-type]
            is_mobile=True,
            has_touch=True,
            storage_state=state,
        )
    else:
        context = browser.new_context(viewport=DESKTOP, storage_state=state)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    return context


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path


def gateway_url(path: str = "/") -> str:
    return f"{service_url('gateway')}{path}"


def register(page: Page, username: str, *, address: str = "12 Test Street, Springfield") -> None:
    page.goto(gateway_url("/register"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Address (optional)").fill(address)
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("link", name=username)).to_be_visible()


def log_in(page: Page, username: str, password: str = PASSWORD, *, then: str = "/") -> None:
    page.goto(gateway_url(f"/login?next={then}"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def add_to_cart(page: Page, product_name: str) -> None:
    page.get_by_role("button", name=f"Add {product_name} to cart").click()


def pay(page: Page, card_number: str = GOOD_CARD) -> None:
    """On the checkout page: the card, then pay."""
    page.get_by_label("Card number").fill(card_number)
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()


def order_id_of(page: Page) -> int:
    page.wait_for_url(re.compile(r"/orders/\d+"))
    found = re.search(r"/orders/(\d+)", page.url)
    assert found, page.url
    return int(found.group(1))
