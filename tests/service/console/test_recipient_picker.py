"""The recipient picker of the send-now and task forms: every contact can be found and picked,
a page at a time, with JavaScript (htmx swaps the results) and without (the form comes back
with them, nothing typed lost)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from service.console.recipient_choices import PICKER_PAGE
from service.console.web import SESSION_COOKIE
from storage.db import transaction
from storage.models import Contact
from tests.service.console.conftest import axe
from tests.service.console.sending import SendingWorld, open_as, sending_world

#: More contacts than a picker's page, named so that searches find known sets.
EXTRA = 120


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SendingWorld]:
    for made in sending_world(tmp_path_factory.mktemp("picker")):
        with transaction(made.sessions) as session:
            session.add_all(
                Contact(
                    account_id=made.account_id,
                    name=f"Picker {n:03d}",
                    email_address=f"picker{n:03d}@example.com",
                    locale="en-US",
                    time_zone="UTC",
                )
                for n in range(1, EXTRA + 1)
            )
        yield made


@pytest.fixture
def as_user(world: SendingWorld, new_context: Callable[..., BrowserContext]) -> Callable[..., Page]:
    def make(user: str, **options: object) -> Page:
        return open_as(world, new_context(**options), user)

    return make


def picker_status(page: Page) -> str:
    return page.locator("#contact-results .pager span").inner_text()


def test_with_javascript_contacts_beyond_the_first_page_are_searched_paged_and_sent_to(
    world: SendingWorld, as_user: Callable[..., Page]
) -> None:
    # Given an administrator on the send form of an account with more contacts than a page
    page = as_user("admin")
    asked: list[str] = []
    page.on("request", lambda request: asked.append(f"{request.method} {request.url}"))
    page.goto(world.url("/reports/new"))
    status = page.locator("#contact-results .pager span")
    expect(status).to_have_text(re.compile(rf"^Contacts 1 to {PICKER_PAGE} of \d+$"))

    # When they type a search, Then the results follow without a reload
    page.get_by_label("Find contacts by name or address").fill("Picker 11")
    expect(status).to_have_text("Contacts 1 to 10 of 10")
    page.get_by_label("Picker 117").check()

    # When they search everyone called Picker and turn the pages, ticking as they go
    page.get_by_label("Find contacts by name or address").fill("Picker")
    expect(status).to_have_text(f"Contacts 1 to {PICKER_PAGE} of {EXTRA}")
    chosen = page.locator('#contact-results ul[aria-labelledby="chosen-contacts-title"]')
    expect(chosen.get_by_label("Picker 117")).to_be_checked()
    page.get_by_role("button", name="Next page").click()
    expect(status).to_have_text(f"Contacts 51 to 100 of {EXTRA}")
    page.get_by_label("Picker 075").check()
    page.get_by_role("button", name="Next page").click()
    expect(status).to_have_text(f"Contacts 101 to {EXTRA} of {EXTRA}")
    page.get_by_label("Picker 118").check()
    page.get_by_role("button", name="Previous page").click()
    expect(status).to_have_text(f"Contacts 51 to 100 of {EXTRA}")
    expect(chosen.locator("input:checked")).to_have_count(3)
    # (each step was htmx asking for the results alone: the form was never posted)
    assert not [a for a in asked if a.startswith("POST")]
    assert len([a for a in asked if "/recipients/contacts?" in a]) >= 5
    assert axe(page) == []

    # Then sending reaches exactly the three ticked contacts
    page.get_by_role("button", name="Send now").click()
    expect(page.locator("#ledger")).to_be_visible()
    run_id = int(re.search(r"/runs/(\d+)", page.url).group(1))  # type: ignore[union-attr]
    with transaction(world.sessions) as session:
        names = {
            session.get(Contact, d.contact_id).name  # type: ignore[union-attr]
            for d in world.deliveries(run_id)
        }
    assert names == {"Picker 075", "Picker 117", "Picker 118"}


def test_without_javascript_the_search_and_page_buttons_post_the_form_back(
    world: SendingWorld, as_user: Callable[..., Page]
) -> None:
    # Given an administrator without JavaScript on the new task form, its name typed
    page = as_user("admin", java_script_enabled=False)
    page.goto(world.url("/tasks/new"))
    page.get_by_label("Name", exact=True).fill("Picked by hand")

    # When they search with Enter in the search field, Then the form comes back with the hits
    search = page.get_by_label("Find contacts by name or address")
    search.fill("Picker 0")
    search.press("Enter")
    expect(page.locator("#contact-results .pager span")).to_have_text(
        f"Contacts 1 to {PICKER_PAGE} of 99"
    )
    expect(page.get_by_label("Name", exact=True)).to_have_value("Picked by hand")
    page.get_by_label("Picker 042").check()

    # When they turn the page (a button posting the form), Then the next page comes, the
    # ticked contact kept among the chosen
    page.get_by_role("button", name="Next page").click()
    expect(page.locator("#contact-results .pager span")).to_have_text("Contacts 51 to 99 of 99")
    expect(page.get_by_label("Picker 042")).to_be_checked()
    page.get_by_label("Picker 093").check()
    # And the Search button searches too
    search = page.get_by_label("Find contacts by name or address")
    search.fill("picker120@example.com")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#contact-results .pager span")).to_have_text("Contacts 1 to 1 of 1")
    page.get_by_label("Picker 120").check()

    # Then the task is created with the three contacts
    page.get_by_role("button", name="Create the task").click()
    expect(page.get_by_role("heading", name="Picked by hand")).to_be_visible()
    recipients = page.get_by_role("region", name="What and to whom")
    for name in ("Picker 042", "Picker 093", "Picker 120"):
        expect(recipients).to_contain_text(name)


def test_the_results_are_refused_to_a_user_who_may_not_see_contacts(
    world: SendingWorld, as_user: Callable[..., Page]
) -> None:
    page = as_user("nocontacts")
    page.goto(world.url("/"))
    cookie = next(c for c in page.context.cookies() if c["name"] == SESSION_COOKIE)
    answer = httpx.get(
        world.url("/recipients/contacts?contact_q=Picker"),
        cookies={SESSION_COOKIE: cookie["value"]},
    )
    assert answer.status_code == 403
    assert "Picker 0" not in answer.text
