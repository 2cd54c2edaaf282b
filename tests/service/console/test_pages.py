"""Every console page, opened by a user allowed to see it: it answers, is in English for an
English user, and axe-core finds no serious or critical accessibility violation on it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.service.console.conftest import axe

#: (path, heading) of every page an administrator with Full Access can open.
PAGES = [
    ("/", "Overview"),
    ("/contacts", "Contacts"),
    ("/contacts/new", "Add a contact"),
    ("/contacts/{contact}", "Alex Morgan"),
    ("/contacts/{contact}/edit", "Edit Alex Morgan"),
    ("/contacts/{contact}/delete", "Delete Alex Morgan"),
    ("/roles", "Roles"),
    ("/roles/new", "New role"),
    ("/roles/{role}", "Web Contact Manager"),
    ("/roles/{role}/delete", "Delete Web Contact Manager"),
    ("/administrators", "Administrators"),
    ("/administrators/new", "Invite an administrator"),
    ("/administrators/{user}", "Viv Viewer"),
    ("/administrators/{user}/remove", "Remove Viv Viewer"),
    ("/profile", "Your profile"),
    ("/no-such-page", "Not found"),
]


@pytest.fixture(scope="module")
def ids(console_world):
    from sqlalchemy import select

    from storage.db import transaction
    from storage.models import Contact

    with transaction(console_world.sessions) as session:
        contact = session.scalars(
            select(Contact.id).where(
                Contact.account_id == console_world.account_id, Contact.name == "Alex Morgan"
            )
        ).one()
    return {
        "contact": contact,
        "role": console_world.roles["Web Contact Manager"],
        "user": console_world.users["viewer"],
    }


def test_every_page_answers_in_english_and_passes_axe(console_world, signed_in, ids):
    page = signed_in("admin")
    failures = {}
    for path, heading in PAGES:
        page.goto(console_world.url(path.format(**ids)))
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        expect(page.locator("html")).to_have_attribute("lang", "en-US")
        violations = axe(page)
        if violations:
            failures[path] = violations
    assert failures == {}


@pytest.mark.parametrize("path", ["/signin", "/set-password?token=x"])
def test_the_signed_out_pages_pass_axe(console_world, new_context, path):
    page = new_context().new_page()
    page.goto(console_world.url(path))
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"Sign in|password"))
    assert axe(page) == []


def test_the_keyboard_alone_reaches_the_menu_and_the_content(console_world, signed_in):
    # Given a page, When the user presses Tab first, Then the skip link is focused and visible
    page = signed_in("admin")
    page.goto(console_world.url("/contacts"))
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the content")
    expect(skip).to_be_focused()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    # And Enter moves to the main content; further Tabs reach the search field
    page.keyboard.press("Enter")
    for _ in range(3):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "contact-search":
            break
    expect(page.get_by_label("Search by name or address")).to_be_focused()
