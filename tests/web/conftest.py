from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, StorageState, sync_playwright

from tests.accounts import ADMIN_PASSWORD, ADMIN_USERNAME
from tests.browser import launch, log_in, new_context


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    # Package scope, not session: Playwright's sync API keeps an event loop running
    # while it is open, which breaks asyncio.run in the suites collected after this one.
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="package")
def admin_state(browser: Browser) -> StorageState:
    """The admin logs in through the UI once: the login limit counts every attempt."""
    context = new_context(browser)
    log_in(context.new_page(), ADMIN_USERNAME, ADMIN_PASSWORD)
    state = context.storage_state()
    context.close()
    return state


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = new_context(browser)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def admin_page(browser: Browser, admin_state: StorageState) -> Iterator[Page]:
    context = new_context(browser, state=admin_state)
    yield context.new_page()
    context.close()
