"""The console speaks the user's language: one page in each of the ten, accessible in each."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from service.console.i18n import translations
from service.reports.locales import SUPPORTED_LOCALES
from tests.service.console.conftest import axe


@pytest.fixture
def viewer_language(console_world):
    """Sets the "viewer" user's language for one test, then puts English back."""

    def set_language(locale: str) -> None:
        console_world.set_user("viewer", locale=locale)

    yield set_language
    console_world.set_user("viewer", locale="en-US")


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_the_contacts_page_is_in_the_users_language(
    console_world, signed_in, viewer_language, locale
):
    # Given a user whose language is ``locale``
    viewer_language(locale)
    page = signed_in("viewer")

    # When they open the contacts page
    page.goto(console_world.url("/contacts"))

    # Then the page is marked as that language, its headings and menu are translated
    gettext = translations(locale).gettext
    expect(page.locator("html")).to_have_attribute("lang", locale)
    expect(page.get_by_role("heading", level=1)).to_have_text(gettext("Contacts"))
    menu = page.get_by_role("navigation", name=gettext("Main menu"))
    expect(menu.get_by_role("link", name=gettext("Overview"))).to_be_visible()
    search = "Search by name or address"
    expect(page.get_by_label(gettext(search))).to_be_visible()
    assert (gettext(search) == search) == (locale == "en-US")
    # And it is as accessible as the English page
    assert axe(page) == []
