"""What every console page promises: a strict CSP that nothing on the page breaks, no caching,
and the session cookie's flags."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from service.console.app import CONTENT_SECURITY_POLICY
from tests.service.console.conftest import axe

PAGES = ("/", "/contacts", "/contacts/new")


def test_pages_carry_the_policy_and_nothing_on_them_breaks_it(console_world, signed_in):
    # Given a signed-in administrator whose browser reports every console message
    page = signed_in("admin")
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))

    for path in PAGES:
        # When a page is opened
        response = page.goto(console_world.url(path))
        assert response is not None and response.status == 200

        # Then it carries the policy and no-store, htmx runs, and nothing was refused
        headers = response.headers
        assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
        assert "script-src 'self'" in CONTENT_SECURITY_POLICY
        assert "unsafe" not in CONTENT_SECURITY_POLICY
        assert headers["cache-control"] == "no-store"
        assert headers["x-content-type-options"] == "nosniff"
        assert page.evaluate("typeof htmx") == "object"
        assert page.evaluate("htmx.config.includeIndicatorStyles") is False
        assert page.evaluate("htmx.config.allowEval") is False
    assert [m for m in messages if "Content Security Policy" in m] == []


def test_boosted_navigation_keeps_the_page_whole(console_world, signed_in):
    # Given the overview, with htmx boosting links
    page = signed_in("admin")
    page.goto(console_world.url("/"))

    # When the menu's Contacts link is followed (an htmx request swapping the body)
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Contacts").click()

    # Then the URL, the title and the current menu entry follow, and the page still passes axe
    expect(page).to_have_url(console_world.url("/contacts"))
    expect(page).to_have_title("Contacts · reportd")
    current = page.locator('nav [aria-current="page"]')
    expect(current).to_have_text("Contacts")
    assert axe(page) == []


def test_signed_out_requests_go_to_the_sign_in_page(console_world):
    # Given no session cookie, When a page is asked for
    response = httpx.get(console_world.url("/contacts?q=x"), follow_redirects=False)

    # Then the answer sends the browser to sign in, and back to the page afterwards
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=/contacts%3Fq%3Dx"
