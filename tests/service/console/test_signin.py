"""Signing in and out, the lockout, the set-password link, the account switcher, the profile."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from service.console.web import SESSION_COOKIE
from storage.db import transaction
from storage.models import ConsoleSession, User
from tests.service.console.conftest import PASSWORD, ConsoleWorld, axe


def sign_in(page: Page, world: ConsoleWorld, address: str, password: str) -> None:
    page.goto(world.url("/signin"))
    page.get_by_label("Email address").fill(address)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def unlocked(console_world):
    """Clears the "nocontacts" user's failed sign-ins after the test."""
    yield
    console_world.set_user("nocontacts", unsuccessful_sign_in_attempts=0, unlock_time=None)


def test_a_user_signs_in_works_and_signs_out(console_world, new_context):
    # Given the sign-in page, with no session
    page = new_context().new_page()
    response = page.goto(console_world.url("/contacts"))
    assert response is not None
    expect(page).to_have_url(re.compile(r"/signin\?next=/contacts$"))
    assert axe(page) == []

    # When the administrator signs in with the right password
    page.get_by_label("Email address").fill(console_world.email("admin"))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # Then they land on the page they asked for, with an HttpOnly, SameSite=Lax cookie
    expect(page.get_by_role("heading", name="Contacts", level=1)).to_be_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == SESSION_COOKIE)
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"
    assert cookie["secure"] is False  # plain http here; Secure is set over https
    # And the database keeps only the token's hash
    with transaction(console_world.sessions) as session:
        hashes = list(session.scalars(select(ConsoleSession.token_hash)))
    assert cookie["value"] not in hashes

    # When they sign out
    page.get_by_role("button", name="Sign out").click()

    # Then the sign-in page says so, and the old cookie opens nothing any more
    expect(page.get_by_role("status")).to_have_text("You signed out.")
    other = new_context()
    other.add_cookies(
        [{"name": SESSION_COOKIE, "value": cookie["value"], "url": console_world.base}]
    )
    again = other.new_page()
    again.goto(console_world.url("/"))
    expect(again).to_have_url(re.compile(r"/signin$"))


def test_repeated_wrong_passwords_lock_the_user_out(console_world, new_context, unlocked):
    page = new_context().new_page()
    address = console_world.email("nocontacts")

    # Given five wrong passwords in a row
    for _ in range(5):
        sign_in(page, console_world, address, "not-the-password-at-all")
        expect(page.get_by_role("alert")).to_be_visible()

    # Then the user is locked out: even the right password is refused for now
    expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-ins")
    sign_in(page, console_world, address, PASSWORD)
    expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-ins")
    expect(page).to_have_url(re.compile(r"/signin$"))
    with transaction(console_world.sessions) as session:
        user = session.get(User, console_world.users["nocontacts"])
        assert user is not None and user.unlock_time is not None
        assert user.unlock_time > datetime.now(UTC)


def test_an_unknown_address_and_a_wrong_password_get_the_same_answer(console_world, new_context):
    page = new_context().new_page()
    sign_in(page, console_world, "nobody@example.com", "whatever-password-1")
    unknown = page.get_by_role("alert").inner_text()
    sign_in(page, console_world, console_world.email("viewer"), "wrong-password-here-2")
    assert page.get_by_role("alert").inner_text() == unknown
    console_world.set_user("viewer", unsuccessful_sign_in_attempts=0)


def test_an_invited_administrator_sets_a_password_from_the_mailed_link_and_signs_in(
    console_world, signed_in, new_context
):
    # Given an administrator inviting a new one (the invitation goes to the SMTP server)
    page = signed_in("admin")
    page.goto(console_world.url("/administrators/new"))
    page.get_by_label("Email address").fill("newbie@example.com")
    page.get_by_label("Name", exact=True).fill("Nell Newbie")
    page.get_by_label("Role in this account").select_option(label="Contact Viewer")
    before = len(console_world.sink.received)
    page.get_by_role("button", name="Invite").click()
    expect(page.get_by_role("status")).to_have_text("The invitation was mailed.")
    expect(page.get_by_role("heading", name="Nell Newbie")).to_be_visible()
    assert axe(page) == []

    # When the mailed link is opened and a password chosen
    mail = email.message_from_bytes(
        console_world.sink.received[before].path.read_bytes(), policy=email.policy.default
    )
    assert mail["To"].addresses[0].addr_spec == "newbie@example.com"
    link = re.search(r"(http://\S+/set-password\?token=\S+)", mail.get_body().get_content())
    assert link is not None
    newbie = new_context().new_page()
    newbie.goto(link.group(1))
    assert axe(newbie) == []
    newbie.get_by_label("New password", exact=True).fill("short")
    newbie.get_by_label("New password again").fill("short")
    newbie.get_by_role("button", name="Set the password").click()
    expect(newbie.get_by_role("alert")).to_contain_text("too weak")
    newbie.get_by_label("New password", exact=True).fill("amber-castle-meadow-42")
    newbie.get_by_label("New password again").fill("amber-castle-meadow-42")
    newbie.get_by_role("button", name="Set the password").click()

    # Then the sign-in page says so, no token is in it, and the new password signs in
    expect(newbie.get_by_role("status")).to_have_text("Your password is set. Sign in with it.")
    assert "token" not in newbie.url and "token=" not in newbie.content()
    sign_in(newbie, console_world, "newbie@example.com", "amber-castle-meadow-42")
    expect(newbie.get_by_role("heading", name="Overview")).to_be_visible()
    # And the link works only once
    again = new_context().new_page()
    again.goto(link.group(1))
    again.get_by_label("New password", exact=True).fill("other-castle-meadow-43")
    again.get_by_label("New password again").fill("other-castle-meadow-43")
    again.get_by_role("button", name="Set the password").click()
    expect(again.get_by_role("alert")).to_contain_text("already used")


def test_a_user_in_two_accounts_switches_between_them(console_world, signed_in):
    # Given an administrator with Full Access in one account and Auditor in the other
    page = signed_in("admin")
    page.goto(console_world.url("/"))
    menu = page.get_by_role("navigation", name="Main menu")
    expect(menu.get_by_role("link", name="Contacts")).to_be_visible()

    # When they switch to the other account
    page.get_by_label("Account").select_option(label="Other Corp")
    page.get_by_role("button", name="Switch").click()

    # Then the overview says where they are, and the Auditor role hides contacts there
    expect(page.get_by_role("status")).to_have_text("You are now working in this account.")
    expect(page.get_by_text("in the account Other Corp")).to_be_visible()
    expect(menu.get_by_role("link", name="Contacts")).to_have_count(0)


def test_a_user_changes_their_language_and_password(console_world, signed_in, new_context):
    page = signed_in("webmanager")
    page.goto(console_world.url("/profile"))
    assert axe(page) == []

    # When they choose German and a new password
    page.get_by_label("Language of the console").select_option("de-DE")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Ihr Profil")).to_be_visible()
    page.get_by_label("Aktuelles Passwort").fill(PASSWORD)
    page.get_by_label("Neues Passwort", exact=True).fill("copper-willow-harbour-9")
    page.get_by_label("Neues Passwort wiederholen").fill("copper-willow-harbour-9")
    page.get_by_role("button", name="Passwort ändern").click()

    # Then the page (in German) confirms, and the new password signs in
    expect(page.get_by_role("status")).to_contain_text("Passwort")
    other = new_context().new_page()
    sign_in(other, console_world, console_world.email("webmanager"), "copper-willow-harbour-9")
    expect(other.get_by_role("heading", level=1)).to_have_text("Übersicht")
    console_world.set_user("webmanager", locale="en-US")
    with transaction(console_world.sessions) as session:
        from service.directory.users import set_password

        set_password(
            session,
            user_id=console_world.users["webmanager"],
            password=PASSWORD,
            now=datetime.now(UTC),
        )


def test_a_user_with_two_factor_sign_in_gives_a_code_after_the_password(console_world, new_context):
    import pyotp

    from service.directory.secretbox import SecretBox
    from service.directory.totp import begin_enrolment, confirm_enrolment
    from service.directory.users import set_password
    from storage.models import Membership

    # Given a user who switched TOTP on (and kept their recovery codes)
    box = SecretBox(console_world.settings.secret_key.get_secret_value())
    now = datetime.now(UTC)
    with transaction(console_world.sessions) as session:
        user = User(email_address="tess@example.com", name="Tess Totp")
        session.add(user)
        session.flush()
        set_password(session, user_id=user.id, password=PASSWORD, now=now)
        session.add(
            Membership(
                account_id=console_world.account_id,
                user_id=user.id,
                role_id=console_world.roles["Contact Viewer"],
            )
        )
        enrolment = begin_enrolment(session, user_id=user.id, box=box)
        codes = confirm_enrolment(
            session, user_id=user.id, code=pyotp.TOTP(enrolment.secret).at(now), box=box, now=now
        )
    page = new_context().new_page()

    # When they give the right password alone
    sign_in(page, console_world, "tess@example.com", PASSWORD)

    # Then the page asks for the code (no session yet), the password field empty again
    expect(page.get_by_role("alert")).to_contain_text("authenticator app")
    expect(page.get_by_label("Authentication code")).to_be_visible()
    expect(page.get_by_label("Password")).to_have_value("")
    assert not [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]
    assert axe(page) == []

    # When they give the password with a wrong code, then with a recovery code
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Authentication code").fill("000000")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("The code is not right")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Authentication code").fill(codes[0])
    page.get_by_role("button", name="Sign in").click()

    # Then they are in
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
