"""The roles pages: presets read-only, a custom role from the New Role Defaults, the rules."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect
from sqlalchemy import select

from service.console.web import SESSION_COOKIE
from storage.db import transaction
from storage.models import Role
from storage.records import role_record
from tests.service.console.conftest import ConsoleWorld, axe


def role_named(world: ConsoleWorld, name: str):
    with transaction(world.sessions) as session:
        role = session.scalars(
            select(Role).where(Role.account_id == world.account_id, Role.name == name)
        ).first()
        return role_record(role) if role is not None else None


def test_the_preset_roles_are_read_only(console_world, signed_in):
    # Given an administrator with full control over roles
    page = signed_in("admin")
    page.goto(console_world.url("/roles"))
    expect(page.get_by_role("table", name="Preset roles")).to_contain_text("Full Access")

    # When they open the Full Access role
    page.get_by_role("link", name="Full Access", exact=True).click()
    expect(page.get_by_role("heading", name="Full Access")).to_be_visible()

    # Then every control is disabled and there is no button to save it
    expect(page.get_by_text("This is a preset role")).to_be_visible()
    expect(page.get_by_label("Scan Cache Configuration Administration")).to_be_disabled()
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    assert axe(page) == []


def test_a_new_role_starts_from_the_new_role_defaults_and_is_created(console_world, signed_in):
    # Given the new role form
    page = signed_in("admin")
    page.goto(console_world.url("/roles/new"))
    expect(page.get_by_role("heading", name="New role")).to_be_visible()

    # Then it shows the seed's New Role Defaults: view all computers, nothing else, contacts hidden
    expect(page.get_by_label("All computers", exact=True)).to_be_checked()
    computer_rights = page.get_by_role("group", name="Rights on these computers")
    expect(computer_rights.get_by_label("View")).to_be_checked()
    expect(computer_rights.get_by_label("Edit")).not_to_be_checked()
    expect(page.get_by_label("Contacts", exact=True)).to_have_value("hide")
    expect(page.get_by_label("Alerts", exact=True)).to_have_value("view-only")
    expect(page.get_by_label("Change own password and contact information only")).to_be_checked()
    assert axe(page) == []

    # When a role limited to the Web Servers group with contacts view-only is created
    page.get_by_label("Name", exact=True).fill("Web Auditors")
    page.get_by_label("Selected computers (below)").check()
    page.get_by_label("Web Servers", exact=True).check()
    page.get_by_label("Contacts", exact=True).select_option("view-only")
    page.get_by_role("button", name="Create the role").click()

    # Then it is stored so, and shown editable
    expect(page.get_by_role("status")).to_have_text("The role was created.")
    record = role_named(console_world, "Web Auditors")
    assert record is not None
    assert record.rights["all_computers"] is False
    assert record.rights["can_edit_computer_properties"] is False
    assert record.rights["other_rights"]["contactRights"] == "view-only"
    assert len(record.computer_group_ids) == 1
    expect(page.get_by_role("button", name="Save")).to_be_visible()


def test_a_role_beyond_the_users_own_rights_is_refused(console_world, signed_in):
    # Given a user who may not view roles (contacts manager limited to the web servers)
    page = signed_in("webmanager")
    response = page.goto(console_world.url("/roles"))

    # Then the roles page is refused and not in the menu
    assert response is not None and response.status == 403
    expect(
        page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Roles")
    ).to_have_count(0)
    # And a forged creation is refused as the API refuses it
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    cookie = next(c for c in page.context.cookies() if c["name"] == SESSION_COOKIE)
    forged = httpx.post(
        console_world.url("/roles"),
        data={"csrf_token": token, "name": "Escalated", "other.contactRights": "full"},
        cookies={SESSION_COOKIE: cookie["value"]},
    )
    assert forged.status_code == 403
    assert role_named(console_world, "Escalated") is None
