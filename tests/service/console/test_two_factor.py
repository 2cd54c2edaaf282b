"""Two-factor sign-in from the profile: a user turns TOTP on (the key and its URI as text, a
first code, the recovery codes once), signs in with a code, and turns it off again with the
password and a code; each switch an audit event, the key never in a page once it is on."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pyotp
from playwright.sync_api import Page, expect
from sqlalchemy import select

from service.console.web import SESSION_COOKIE
from service.directory.audit import AuditCode
from service.directory.users import set_password
from storage.db import transaction
from storage.models import Membership, RecoveryCode, SystemEvent, User
from tests.service.console.conftest import PASSWORD, ConsoleWorld, axe

ADDRESS = "otto.otp@example.com"


def sign_in(page: Page, world: ConsoleWorld, password: str) -> None:
    page.goto(world.url("/signin"))
    page.get_by_label("Email address").fill(ADDRESS)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def make_user(world: ConsoleWorld) -> int:
    with transaction(world.sessions) as session:
        user = User(email_address=ADDRESS, name="Otto Otp", locale="en-US", time_zone="UTC")
        session.add(user)
        session.flush()
        set_password(session, user_id=user.id, password=PASSWORD, now=datetime.now(UTC))
        session.add(
            Membership(
                account_id=world.account_id, user_id=user.id, role_id=world.roles["No Contacts"]
            )
        )
        return user.id


def second_factor_events(world: ConsoleWorld) -> list[str]:
    with transaction(world.sessions) as session:
        return list(
            session.scalars(
                select(SystemEvent.description)
                .where(
                    SystemEvent.event_code == int(AuditCode.user_second_factor_changed),
                    SystemEvent.account_id == world.account_id,
                    SystemEvent.actor == f"user:{ADDRESS}",
                )
                .order_by(SystemEvent.id)
            )
        )


def test_a_user_turns_two_factor_sign_in_on_and_off_from_the_profile(console_world, new_context):
    # Given a signed-in user without a second factor, on their profile
    user_id = make_user(console_world)
    page = new_context().new_page()
    sign_in(page, console_world, PASSWORD)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    page.goto(console_world.url("/profile"))
    panel = page.get_by_role("region", name="Two-factor sign-in")
    expect(panel).to_contain_text("Turned off")

    # When they turn it on, Then the key and its otpauth URI are shown as text
    panel.get_by_role("button", name="Turn two-factor sign-in on").click()
    expect(page.get_by_role("heading", name="Turn on two-factor sign-in")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "").strip()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    uri = page.locator("#totp-uri").inner_text()
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri
    assert axe(page) == []

    # When a wrong code is given, Then the page says so and shows the same key again
    page.get_by_label("Authentication code").fill("000000")
    page.get_by_role("button", name="Turn it on").click()
    expect(page.get_by_role("alert")).to_contain_text("not your authenticator app's current")
    assert page.locator("#totp-secret").inner_text().replace(" ", "").strip() == secret

    # When the app's current code is given, Then TOTP is on and ten recovery codes are shown
    now = datetime.now(UTC)
    page.get_by_label("Authentication code").fill(pyotp.TOTP(secret).at(now))
    page.get_by_role("button", name="Turn it on").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    codes = page.locator(".codes code").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"(\w{4}-){3}\w{4}", c) for c in codes)
    assert secret not in page.content()
    assert axe(page) == []
    assert second_factor_events(console_world) == [
        f"user {ADDRESS} (ID {user_id}): TOTP switched on by the user"
    ]

    # And once it is on, the key is in no page: the profile, the enrolment page (gone)
    page.get_by_role("link", name="I have kept them").click()
    expect(page.get_by_role("region", name="Two-factor sign-in")).to_contain_text("Turned on")
    assert secret not in page.content()
    cookie = next(c for c in page.context.cookies() if c["name"] == SESSION_COOKIE)
    answer = httpx.get(
        console_world.url("/profile/totp"), cookies={SESSION_COOKIE: cookie["value"]}
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/profile"
    assert axe(page) == []

    # When they sign in again, Then a code is asked for, and the app's next one lets them in
    other = new_context().new_page()
    sign_in(other, console_world, PASSWORD)
    expect(other.get_by_label("Authentication code")).to_be_visible()
    other.get_by_label("Password").fill(PASSWORD)
    other.get_by_label("Authentication code").fill(
        pyotp.TOTP(secret).at(now + timedelta(seconds=30))
    )
    other.get_by_role("button", name="Sign in").click()
    expect(other.get_by_role("heading", name="Overview")).to_be_visible()

    # When they turn it off with a wrong password, Then it stays on
    other.goto(console_world.url("/profile"))
    panel = other.get_by_role("region", name="Two-factor sign-in")
    panel.get_by_label("Password").fill("not-the-password-at-all")
    panel.get_by_label("Authentication code").fill(codes[0])
    panel.get_by_role("button", name="Turn two-factor sign-in off").click()
    expect(other.get_by_role("alert")).to_contain_text("The password or the code is not right.")

    # When they give the password and a recovery code, Then it is off and audited
    panel = other.get_by_role("region", name="Two-factor sign-in")
    panel.get_by_label("Password").fill(PASSWORD)
    panel.get_by_label("Authentication code").fill(codes[0])
    panel.get_by_role("button", name="Turn two-factor sign-in off").click()
    expect(other.get_by_role("status")).to_contain_text("Two-factor sign-in is off")
    expect(other.get_by_role("region", name="Two-factor sign-in")).to_contain_text("Turned off")
    with transaction(console_world.sessions) as session:
        row = session.get(User, user_id)
        assert row is not None
        assert row.mfa_type == "none" and row.totp_secret_encrypted is None
        assert row.unsuccessful_sign_in_attempts == 0 or row.unsuccessful_sign_in_attempts == 1
        left = session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user_id))
        assert list(left) == []
    assert second_factor_events(console_world)[-1] == (
        f"user {ADDRESS} (ID {user_id}): TOTP switched off by the user"
    )
