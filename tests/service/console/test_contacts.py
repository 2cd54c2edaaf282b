"""The contacts pages in Chromium: list, add with a restricted clearance, rights, hostile names."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import expect
from sqlalchemy import select

from service.console.web import SESSION_COOKIE
from storage.db import transaction
from storage.models import Contact
from tests.service.console.conftest import ConsoleWorld, axe


def contact_named(world: ConsoleWorld, name: str) -> Contact | None:
    with transaction(world.sessions) as session:
        return session.scalars(
            select(Contact).where(Contact.account_id == world.account_id, Contact.name == name)
        ).first()


def test_an_admin_adds_a_contact_with_a_restricted_clearance(console_world, signed_in):
    # Given an administrator with Full Access on the contacts page
    page = signed_in("admin")
    page.goto(console_world.url("/contacts"))
    expect(page.get_by_role("heading", name="Contacts")).to_be_visible()

    # When they add a contact whose clearance is the "Web Team" role, protected by a password
    page.get_by_role("link", name="Add a contact").click()
    expect(page.get_by_role("heading", name="Add a contact")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Rita Restricted")
    page.get_by_label("Email address").fill("rita@example.com")
    page.get_by_label("Clearance (role)").select_option(label="Web Team")
    page.get_by_label("Language of the reports").select_option("ja-JP")
    page.get_by_label("Time zone of the reports").select_option("Asia/Tokyo")
    page.get_by_label("Protect this contact's PDF reports with a password").check()
    page.get_by_label("Report password").fill("s3cret-report-pw")
    page.get_by_role("button", name="Add the contact").click()

    # Then the contact's page says so, shows its clearance and only the web servers it sees
    expect(page.get_by_role("status")).to_have_text("The contact was added.")
    expect(page.get_by_role("heading", name="Rita Restricted")).to_be_visible()
    seen = page.get_by_role("region", name="What this contact sees")
    expect(seen).to_contain_text("web-")
    expect(seen).not_to_contain_text("db-")
    # And the report password is nowhere in the page, and stored sealed
    assert "s3cret-report-pw" not in page.content()
    stored = contact_named(console_world, "Rita Restricted")
    assert stored is not None and stored.report_pdf_password_enabled
    assert stored.role_id == console_world.roles["Web Team"]
    assert b"s3cret-report-pw" not in (stored.report_pdf_password_encrypted or b"")
    assert axe(page) == []


def test_a_view_only_user_sees_contacts_but_no_form_and_a_forged_post_is_refused(
    console_world, signed_in
):
    # Given a user whose role has Contacts at View-Only
    page = signed_in("viewer")
    page.goto(console_world.url("/contacts"))

    # Then the list shows, without an "Add" button, and a contact has no edit or delete
    expect(page.get_by_role("link", name="Alex Morgan")).to_be_visible()
    expect(page.get_by_role("link", name="Add a contact")).to_have_count(0)
    page.get_by_role("link", name="Alex Morgan").click()
    expect(page.get_by_role("heading", name="Alex Morgan")).to_be_visible()
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    expect(page.get_by_role("link", name="Delete")).to_have_count(0)
    contact_id = re.search(r"/contacts/(\d+)", page.url)
    assert contact_id is not None

    # When the user forges the edit form's POST with a valid session and CSRF token
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    cookie = next(c for c in page.context.cookies() if c["name"] == SESSION_COOKIE)
    response = httpx.post(
        console_world.url(f"/contacts/{contact_id.group(1)}"),
        data={"csrf_token": token, "name": "Hijacked", "email_address": "evil@example.com"},
        cookies={SESSION_COOKIE: cookie["value"]},
    )

    # Then it is refused 403 and nothing changed
    assert response.status_code == 403
    assert contact_named(console_world, "Hijacked") is None
    # And the edit page itself is refused too
    page.goto(console_world.url(f"/contacts/{contact_id.group(1)}/edit"))
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()


def test_a_user_without_contact_rights_gets_no_contacts_page_and_no_menu_entry(
    console_world, signed_in
):
    # Given a user whose role hides Contacts
    page = signed_in("nocontacts")
    page.goto(console_world.url("/"))

    # Then the menu has no Contacts entry, and the page itself answers 403
    menu = page.get_by_role("navigation", name="Main menu")
    expect(menu.get_by_role("link", name="Overview")).to_be_visible()
    expect(menu.get_by_role("link", name="Contacts")).to_have_count(0)
    response = page.goto(console_world.url("/contacts"))
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()


def test_a_post_without_the_csrf_token_is_refused(console_world, signed_in):
    # Given a signed-in administrator's session
    page = signed_in("admin")
    page.goto(console_world.url("/contacts/new"))
    cookie = next(c for c in page.context.cookies() if c["name"] == SESSION_COOKIE)

    # When a form is posted with the session cookie but without (or with a wrong) token
    for token in (None, "forged-token"):
        data = {"name": "No Token", "email_address": "no-token@example.com", "role_id": ""}
        if token:
            data["csrf_token"] = token
        response = httpx.post(
            console_world.url("/contacts"), data=data, cookies={SESSION_COOKIE: cookie["value"]}
        )
        # Then it is refused 403 and no contact is made
        assert response.status_code == 403
    assert contact_named(console_world, "No Token") is None


def test_a_refused_field_is_shown_beside_it_and_nothing_typed_is_lost(console_world, signed_in):
    # Given the add form (boosted by htmx), When the address is not an address
    page = signed_in("admin")
    page.goto(console_world.url("/contacts/new"))
    page.get_by_label("Name", exact=True).fill("Typo Tom")
    page.get_by_label("Email address").fill("tom-at-example")
    page.get_by_label("Report password").fill("never-shown-again")
    page.get_by_role("button", name="Add the contact").click()

    # Then the form comes back with the error tied to the field, the name kept, no password
    email_field = page.get_by_label("Email address")
    expect(email_field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#e-email_address")).to_contain_text("not a valid address")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Typo Tom")
    expect(page.get_by_label("Report password")).to_have_value("")
    assert "never-shown-again" not in page.content()
    assert contact_named(console_world, "Typo Tom") is None
    assert axe(page) == []


def test_hostile_names_render_as_text(console_world, signed_in):
    # Given a contact whose name and description are markup
    hostile = '<script>window.pwned=1</script>"><img src=x onerror="window.pwned=2">'
    page = signed_in("admin")
    page.goto(console_world.url("/contacts/new"))
    page.get_by_label("Name", exact=True).fill(hostile)
    page.get_by_label("Email address").fill("hostile@example.com")
    page.get_by_label("Description").fill(hostile)
    page.get_by_role("button", name="Add the contact").click()
    expect(page.get_by_role("status")).to_have_text("The contact was added.")

    # Then the page shows the text as typed, runs nothing and has no injected element
    expect(page.get_by_role("heading", level=1)).to_have_text(hostile)
    assert page.evaluate("window.pwned") is None
    assert page.locator("img[src=x]").count() == 0
    page.goto(console_world.url("/contacts?q=hostile"))
    expect(page.get_by_role("link", name=hostile)).to_be_visible()
    assert page.evaluate("window.pwned") is None
