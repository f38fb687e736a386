"""Accounts in the browser: API errors shown as their detail, password reset by email,
profile edits, logging out."""

import re
import uuid

from playwright.sync_api import Page, expect

from tests.accounts import PASSWORD, new_customer
from tests.browser import gateway_url, log_in, register
from tests.mailbox import message, wait_for_messages


def test_a_problem_from_the_api_is_shown_with_its_detail(page: Page) -> None:
    page.goto(gateway_url("/register"))
    page.get_by_label("Username").fill(f"weak{uuid.uuid4().hex[:8]}")
    page.get_by_label("Email").fill("weak@example.com")
    page.get_by_label("Password").fill("alllowercase")  # long enough, one class of characters
    page.get_by_role("button", name="Register").click()

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Password too weak")
    expect(alert).to_contain_text("at least three of")
    assert page.get_by_label("Username").input_value().startswith("weak")  # nothing typed is lost

    page.goto(gateway_url("/login"))
    page.get_by_label("Username").fill("nobody-" + uuid.uuid4().hex[:6])
    page.get_by_label("Password").fill("Wrong-Password-1")
    page.get_by_label("Password").press("Enter")  # forms work from the keyboard
    expect(page.get_by_role("alert")).to_contain_text(re.compile("invalid", re.IGNORECASE))


def test_a_forgotten_password_is_reset_from_the_emailed_link(page: Page) -> None:
    buyer = new_customer("webreset")
    email = f"{buyer.username}@example.com"
    page.goto(gateway_url("/login"))
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send the reset link").click()
    expect(page.get_by_role("status")).to_contain_text("on its way")

    [mail] = wait_for_messages(email)
    link = re.search(r"https?://\S+/reset-password\?token=\S+", message(mail["ID"])["Text"])
    assert link, "no reset link in the email"
    page.goto(link.group(0))
    page.get_by_label("New password").fill("Brand-New-Secret-7")
    page.get_by_role("button", name="Change the password").click()
    expect(page.get_by_role("status")).to_contain_text("password is changed")

    log_in(page, buyer.username, "Brand-New-Secret-7")


def test_profile_edits_are_kept_and_logging_out_ends_the_session(page: Page) -> None:
    username = f"webprofile{uuid.uuid4().hex[:6]}"
    register(page, username)
    page.get_by_role("link", name=username).click()
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("Phone").fill("+44 20 7946 0958")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("status")).to_contain_text("profile is saved")

    page.reload()
    expect(page.get_by_label("Full name")).to_have_value("Ada Lovelace")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    page.goto(gateway_url("/orders"))
    page.wait_for_url(re.compile(r"/login\?next="))  # signed-in pages send strangers to log in
    log_in(page, username, PASSWORD, then="/orders")
    expect(page.get_by_role("heading", name="My orders")).to_be_visible()
