"""Passwords, set-password tokens, lockout and TOTP: what the console's sign-in stands on."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.directory.accounts import create_account, find_role
from service.directory.passwords import WeakPassword, check_password, hash_password, verify_password
from service.directory.secretbox import SecretBox
from service.directory.signin import (
    LOCKOUT,
    MAX_FAILED_SIGN_INS,
    Refusal,
    Refused,
    SignedIn,
    authenticate,
)
from service.directory.totp import begin_enrolment, confirm_enrolment
from service.directory.user_tokens import TokenRefused, issue_token, redeem_set_password
from service.directory.users import add_user, edit_user, set_password
from storage.models import Membership, SystemEvent, User

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PASSWORD = "violet-harbour-lantern-7"
BOX = SecretBox("test-secret-key")


def make_user(session: Session, address: str = "mia.keller@example.ch", **values: object) -> int:
    account = create_account(session, name=f"Signin {address}")
    role = find_role(session, account.id, "Auditor")
    added = add_user(
        session,
        account_id=account.id,
        box=BOX,
        now=NOW,
        email_address=address,
        name="Mia Keller",
        role_id=role.id,
        **values,
    )
    return added.member.id


def trail(session: Session, user_id: int) -> list[str]:
    user = session.get(User, user_id)
    assert user is not None
    rows = session.scalars(
        select(SystemEvent.name)
        .where(SystemEvent.description.contains(f"(ID {user_id})"), SystemEvent.event_code >= 8800)
        .order_by(SystemEvent.id)
    )
    return list(rows)


# --- passwords ------------------------------------------------------------------------------


def test_the_hash_is_argon2id_it_verifies_and_a_wrong_password_fails() -> None:
    stored = hash_password(PASSWORD)
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert verify_password(stored, PASSWORD).ok
    assert not verify_password(stored, PASSWORD + "x").ok
    assert not verify_password(None, PASSWORD).ok
    assert not verify_password("not a hash", PASSWORD).ok
    assert hash_password(PASSWORD) != stored  # a fresh salt each time


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("short-pw-1", "at least 12"),
        ("Mia Keller 2026", "name"),
        ("mia.keller@example.ch", "name, username or address"),
        ("xx-mia.keller-xx", "contain"),
        ("aaaaaaaaaaaaaaa", "repeated"),
        ("password123456", "common"),
        ("Iloveyou2024!!", "common"),
        ("Qwerty123456", "common"),
    ],
)
def test_the_policy_refuses_weak_passwords_without_repeating_them(password: str, rule: str) -> None:
    with pytest.raises(WeakPassword) as refused:
        check_password(password, name="Mia Keller", email="mia.keller@example.ch")
    assert rule in str(refused.value) and password not in str(refused.value)


def test_the_policy_accepts_a_long_uncommon_password() -> None:
    check_password(PASSWORD, name="Mia Keller", email="mia.keller@example.ch")


# --- signing in -----------------------------------------------------------------------------


def test_the_right_password_signs_in_and_says_where(session: Session) -> None:
    user_id = make_user(session, password=PASSWORD)
    result = authenticate(session, "Mia.Keller@example.ch", PASSWORD, now=NOW, box=BOX)
    assert isinstance(result, SignedIn) and result.user_id == user_id
    assert len(result.accounts) == 1 and result.accounts[0].role_id is not None
    user = session.get(User, user_id)
    assert user is not None and user.last_sign_in == NOW
    assert trail(session, user_id)[-1] == "User Signed In"


def test_unknown_address_no_password_and_wrong_password_are_one_refusal(session: Session) -> None:
    make_user(session, "has.password@example.com", password=PASSWORD)
    make_user(session, "no.password@example.com")
    answers = [
        authenticate(session, "nobody@example.com", PASSWORD, now=NOW, box=BOX),
        authenticate(session, "no.password@example.com", PASSWORD, now=NOW, box=BOX),
        authenticate(session, "has.password@example.com", "wrong " + PASSWORD, now=NOW, box=BOX),
    ]
    assert answers == [Refused(Refusal.bad_credentials)] * 3


def test_repeated_failures_lock_the_user_out_until_the_lockout_ends(session: Session) -> None:
    user_id = make_user(session, password=PASSWORD)
    # Given failed sign-ins one short of the limit
    for i in range(MAX_FAILED_SIGN_INS - 1):
        result = authenticate(session, "mia.keller@example.ch", f"wrong-{i}", now=NOW, box=BOX)
        assert result == Refused(Refusal.bad_credentials)
    # When one more fails
    locked = authenticate(session, "mia.keller@example.ch", "wrong-last", now=NOW, box=BOX)
    # Then the user is locked out for the lockout's length, counted on the user
    assert locked == Refused(Refusal.locked_out, unlock_time=NOW + LOCKOUT)
    user = session.get(User, user_id)
    assert user is not None
    assert user.unsuccessful_sign_in_attempts == MAX_FAILED_SIGN_INS
    assert user.unlock_time == NOW + LOCKOUT
    # And even the right password is refused while it lasts
    during = NOW + LOCKOUT - timedelta(seconds=1)
    assert authenticate(session, "mia.keller@example.ch", PASSWORD, now=during, box=BOX) == (
        Refused(Refusal.locked_out, unlock_time=NOW + LOCKOUT)
    )
    # And after it, the right password signs in and the count starts afresh
    after = NOW + LOCKOUT
    assert isinstance(
        authenticate(session, "mia.keller@example.ch", PASSWORD, now=after, box=BOX), SignedIn
    )
    assert user.unsuccessful_sign_in_attempts == 0 and user.unlock_time is None
    names = trail(session, user_id)
    assert names.count("User Sign-In Failed") == MAX_FAILED_SIGN_INS + 1  # + one while locked
    assert "User Locked Out" in names and names[-1] == "User Signed In"


def test_a_user_active_in_no_account_cannot_sign_in(session: Session) -> None:
    user_id = make_user(session, password=PASSWORD)
    membership = session.scalars(select(Membership).where(Membership.user_id == user_id)).one()
    edit_user(
        session, account_id=membership.account_id, user_id=user_id, box=BOX, now=NOW, active=False
    )
    assert authenticate(session, "mia.keller@example.ch", PASSWORD, now=NOW, box=BOX) == Refused(
        Refusal.no_active_account
    )


def test_sign_in_events_go_to_every_account_of_the_user(session: Session) -> None:
    user_id = make_user(session, password=PASSWORD)
    other = create_account(session, name="Second account")
    add_user(
        session,
        account_id=other.id,
        box=BOX,
        now=NOW,
        email_address="mia.keller@example.ch",
        role_id=find_role(session, other.id, "Full Access").id,
    )
    result = authenticate(session, "mia.keller@example.ch", PASSWORD, now=NOW, box=BOX)
    assert isinstance(result, SignedIn) and len(result.accounts) == 2
    accounts = session.scalars(
        select(SystemEvent.account_id).where(
            SystemEvent.name == "User Signed In",
            SystemEvent.description.contains(f"(ID {user_id})"),
        )
    ).all()
    assert sorted(accounts) == sorted(a.account_id for a in result.accounts)


# --- set-password tokens --------------------------------------------------------------------


def test_a_set_password_token_works_once(session: Session) -> None:
    user_id = make_user(session)
    issued = issue_token(session, user_id=user_id, now=NOW)
    assert redeem_set_password(session, token=issued.token, password=PASSWORD, now=NOW) == user_id
    assert isinstance(
        authenticate(session, "mia.keller@example.ch", PASSWORD, now=NOW, box=BOX), SignedIn
    )
    with pytest.raises(TokenRefused):
        redeem_set_password(session, token=issued.token, password=PASSWORD + "!", now=NOW)


def test_a_set_password_token_does_not_work_after_it_expires(session: Session) -> None:
    user_id = make_user(session)
    issued = issue_token(session, user_id=user_id, now=NOW, lifetime=timedelta(hours=1))
    with pytest.raises(TokenRefused):
        redeem_set_password(
            session, token=issued.token, password=PASSWORD, now=NOW + timedelta(hours=1)
        )
    user = session.get(User, user_id)
    assert user is not None and user.password_hash is None


def test_a_weak_password_leaves_the_token_usable_and_a_new_token_retires_the_old(
    session: Session,
) -> None:
    user_id = make_user(session)
    first = issue_token(session, user_id=user_id, now=NOW)
    with pytest.raises(WeakPassword):
        redeem_set_password(session, token=first.token, password="short", now=NOW)
    second = issue_token(session, user_id=user_id, now=NOW)
    with pytest.raises(TokenRefused):
        redeem_set_password(session, token=first.token, password=PASSWORD, now=NOW)
    redeem_set_password(session, token=second.token, password=PASSWORD, now=NOW)
    assert first.token not in repr(first)


# --- TOTP -----------------------------------------------------------------------------------


def test_totp_asks_for_the_second_factor_refuses_replays_and_takes_a_recovery_code_once(
    session: Session,
) -> None:
    user_id = make_user(session, password=PASSWORD)
    # Given TOTP switched on with a first code from the app
    enrolment = begin_enrolment(session, user_id=user_id, box=BOX)
    app = pyotp.TOTP(enrolment.secret)
    codes = confirm_enrolment(
        session, user_id=user_id, code=app.at(NOW - timedelta(seconds=30)), box=BOX, now=NOW
    )
    assert len(codes) == 10 and enrolment.secret not in repr(enrolment)
    # When the password alone is given: the second factor is asked for
    first = authenticate(session, "mia.keller@example.ch", PASSWORD, now=NOW, box=BOX)
    assert first == Refused(Refusal.second_factor_required)
    # A wrong code is refused and counted
    wrong = authenticate(session, "mia.keller@example.ch", PASSWORD, "000000", now=NOW, box=BOX)
    assert wrong == Refused(Refusal.bad_second_factor)
    # The current code signs in; the same code again does not
    code = app.at(NOW)
    ok = authenticate(session, "mia.keller@example.ch", PASSWORD, code, now=NOW, box=BOX)
    assert isinstance(ok, SignedIn) and ok.second_factor_used
    replay = authenticate(session, "mia.keller@example.ch", PASSWORD, code, now=NOW, box=BOX)
    assert replay == Refused(Refusal.bad_second_factor)
    # A recovery code works once
    recovery = codes[0].lower()
    assert isinstance(
        authenticate(session, "mia.keller@example.ch", PASSWORD, recovery, now=NOW, box=BOX),
        SignedIn,
    )
    assert authenticate(
        session, "mia.keller@example.ch", PASSWORD, recovery, now=NOW, box=BOX
    ) == Refused(Refusal.bad_second_factor)


def test_no_password_hash_or_token_reaches_the_logs(
    session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    user_id = make_user(session)
    issued = issue_token(session, user_id=user_id, now=NOW)
    redeem_set_password(session, token=issued.token, password=PASSWORD, now=NOW)
    for attempt in ("wrong-password-1", PASSWORD):
        authenticate(session, "mia.keller@example.ch", attempt, now=NOW, box=BOX)
    set_password(session, user_id=user_id, password=PASSWORD + "-2", now=NOW)
    user = session.get(User, user_id)
    assert user is not None and user.password_hash is not None
    events = " ".join(session.scalars(select(SystemEvent.description)))
    for secret in (PASSWORD, "wrong-password-1", user.password_hash, issued.token):
        assert secret not in caplog.text and secret not in events


def test_a_user_switches_their_own_totp_on_and_off_with_proof_each_audited(
    session: Session,
) -> None:
    from service.directory.signin import confirm_own_second_factor, switch_off_own_second_factor
    from service.directory.totp import pending_enrolment
    from service.errors import InvalidInput

    user_id = make_user(session, password=PASSWORD)
    # Given an enrolment begun: it is shown again until confirmed
    enrolment = begin_enrolment(session, user_id=user_id, box=BOX)
    assert pending_enrolment(session, user_id=user_id, box=BOX) == enrolment
    app = pyotp.TOTP(enrolment.secret)
    # A wrong first code switches nothing on
    with pytest.raises(InvalidInput):
        confirm_own_second_factor(session, user_id=user_id, code="000000", box=BOX, now=NOW)
    # The current code does: recovery codes given, the secret never shown again, audited
    codes = confirm_own_second_factor(session, user_id=user_id, code=app.at(NOW), box=BOX, now=NOW)
    assert len(codes) == 10
    assert pending_enrolment(session, user_id=user_id, box=BOX) is None
    assert trail(session, user_id)[-1] == "User Second Factor Changed"

    # When it is switched off with a wrong password, then a wrong code: refused and counted
    def off(password: str, code: str) -> bool:
        return switch_off_own_second_factor(
            session, user_id=user_id, password=password, code=code, box=BOX, now=NOW
        )

    assert not off("nope", codes[0])
    assert not off(PASSWORD, "123456")
    user = session.get(User, user_id)
    assert user is not None
    assert user.mfa_type == "local-totp" and user.unsuccessful_sign_in_attempts == 2
    # With the password and a recovery code it is off, and the trail says so
    assert off(PASSWORD, codes[1])
    assert user.mfa_type == "none" and user.totp_secret_encrypted is None
    assert trail(session, user_id)[-1] == "User Second Factor Changed"
    # And the user signs in with the password alone again
    assert isinstance(
        authenticate(session, "mia.keller@example.ch", PASSWORD, now=NOW, box=BOX), SignedIn
    )
