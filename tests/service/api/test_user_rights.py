"""Seed 003's User Rights for administrators, with a signed-in user as the caller (the path
the console takes) and custom rights: presets, custom flags, equal or lesser, own role."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from service.api.administrator_admin import (
    AdministratorBody,
    create_for,
    delete_for,
    get_for,
    list_for,
    modify_for,
)
from service.api.authz import Caller, Forbidden
from service.directory.accounts import create_account, create_role, find_role
from service.directory.rights import NEW_ROLE_DEFAULTS, UserRightsPreset
from service.directory.secretbox import SecretBox
from service.directory.users import add_user, get_member
from storage.records import load_role

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
BOX = SecretBox("test-secret-key")
PASSWORD = "violet-harbour-lantern-7"


@dataclass
class Office:
    account_id: int
    roles: dict[str, int]
    users: dict[str, int]

    def caller(self, session: Session, who: str, *, read_only: bool = False) -> Caller:
        member = get_member(session, account_id=self.account_id, user_id=self.users[who])
        role = load_role(session, self.account_id, member.role_id)
        assert role is not None
        return Caller.for_user(
            account_id=self.account_id,
            user_id=member.id,
            email_address=member.email_address,
            role=role,
            read_only=read_only,
        )


@pytest.fixture
def office(session: Session) -> Office:
    account = create_account(session, name=f"Office {id(session)}")
    base = replace(NEW_ROLE_DEFAULTS, allow_web_service=True)
    manager = create_role(
        session,
        account_id=account.id,
        name="User Manager",
        rights=base.with_user_rights(UserRightsPreset.create_manage_equal_or_less),
    )
    viewer = create_role(
        session,
        account_id=account.id,
        name="User Viewer",
        rights=replace(base, user_rights=UserRightsPreset.custom, can_view_users=True),
    )
    roles = {
        "Full Access": find_role(session, account.id, "Full Access").id,
        "Auditor": find_role(session, account.id, "Auditor").id,
        "User Manager": manager.id,
        "User Viewer": viewer.id,
    }
    users = {}
    for who, role in (
        ("alice", "User Manager"),
        ("bob", "Auditor"),
        ("carol", "Full Access"),
        ("vic", "User Viewer"),
    ):
        added = add_user(
            session,
            account_id=account.id,
            box=BOX,
            now=NOW,
            email_address=f"{who}@example.com",
            name=who.title(),
            role_id=roles[role],
        )
        users[who] = added.member.id
    return Office(account.id, roles, users)


def body(**fields: object) -> AdministratorBody:
    return AdministratorBody.model_validate(fields)


def test_change_own_password_and_contact_information_only(session: Session, office: Office) -> None:
    # Given Bob, whose role has the preset "change own password and contact information only"
    bob = office.caller(session, "bob")
    # He changes his own name, numbers, language and password
    changed = modify_for(
        session,
        bob,
        office.users["bob"],
        body(
            fullName="Bob Builder",
            phoneNumber="+41 44 000",
            reportdLocale="fr-FR",
            password=PASSWORD,
        ),  # fmt: skip
        box=BOX,
        now=NOW,
    )
    assert changed["fullName"] == "Bob Builder" and changed["reportdLocale"] == "fr-FR"
    assert "lastPasswordChange" in changed and "password" not in changed
    # And describes himself, but nobody else, and cannot list
    assert get_for(session, bob, office.users["bob"])["ID"] == office.users["bob"]
    for forbidden in (
        lambda: get_for(session, bob, office.users["carol"]),
        lambda: list_for(session, bob),
        lambda: modify_for(
            session, bob, office.users["bob"], body(roleID=office.roles["Full Access"]),
            box=BOX, now=NOW,
        ),
        lambda: modify_for(
            session, bob, office.users["bob"], body(active=False), box=BOX, now=NOW
        ),
        lambda: modify_for(
            session, bob, office.users["alice"], body(phoneNumber="1"), box=BOX, now=NOW
        ),
        lambda: delete_for(session, bob, office.users["alice"], now=NOW),
    ):  # fmt: skip
        with pytest.raises(Forbidden):
            forbidden()


def test_nobody_changes_their_own_role_even_to_a_lesser_one(
    session: Session, office: Office
) -> None:
    for who, lesser in (("carol", "Auditor"), ("alice", "Auditor")):
        caller = office.caller(session, who)
        with pytest.raises(Forbidden, match="own role"):
            modify_for(
                session,
                caller,
                office.users[who],
                body(roleID=office.roles[lesser]),
                box=BOX,
                now=NOW,
            )


def test_create_and_manage_users_with_equal_or_less_access(
    session: Session, office: Office
) -> None:
    alice = office.caller(session, "alice")
    # She manages Bob (Auditor, less than hers) and creates users with her role or less
    assert (
        modify_for(session, alice, office.users["bob"], body(description="ok"), box=BOX, now=NOW)[
            "description"
        ]
        == "ok"
    )
    made = create_for(
        session,
        alice,
        body(fullName="Dan", emailAddress="dan@example.com", roleID=office.roles["User Manager"]),
        box=BOX,
        now=NOW,
    )
    assert made.token is not None  # no password given: a set-password token
    # But never above her: not creating, promoting, editing or removing beyond her rights
    attempts = [
        lambda: create_for(
            session, alice,
            body(fullName="Eve", emailAddress="eve@x.com", roleID=office.roles["Full Access"]),
            box=BOX, now=NOW,
        ),
        lambda: modify_for(
            session, alice, office.users["bob"], body(roleID=office.roles["Full Access"]),
            box=BOX, now=NOW,
        ),
        lambda: modify_for(
            session, alice, office.users["carol"], body(password=PASSWORD), box=BOX, now=NOW
        ),
        lambda: modify_for(
            session, alice, office.users["carol"], body(emailAddress="alice2@example.com"),
            box=BOX, now=NOW,
        ),
        lambda: delete_for(session, alice, office.users["carol"], now=NOW),
    ]  # fmt: skip
    for attempt in attempts:
        with pytest.raises(Forbidden, match="beyond"):
            attempt()


def test_custom_user_rights_allow_only_their_flags(session: Session, office: Office) -> None:
    vic = office.caller(session, "vic")  # custom: may view users, nothing else
    assert len(list_for(session, vic)) == 4
    with pytest.raises(Forbidden, match="can_create_new_users"):
        create_for(
            session,
            vic,
            body(fullName="F", emailAddress="f@example.com", roleID=office.roles["Auditor"]),
            box=BOX,
            now=NOW,
        )
    with pytest.raises(Forbidden, match="can_edit_user_properties"):
        modify_for(session, vic, office.users["bob"], body(description="x"), box=BOX, now=NOW)
    with pytest.raises(Forbidden, match="can_delete_users"):
        delete_for(session, vic, office.users["bob"], now=NOW)


def test_a_read_only_administrator_keeps_the_views_and_loses_the_changes(
    session: Session, office: Office
) -> None:
    alice = office.caller(session, "alice", read_only=True)
    assert len(list_for(session, alice)) == 4
    with pytest.raises(Forbidden):
        modify_for(session, alice, office.users["bob"], body(description="x"), box=BOX, now=NOW)
    # Her own contact information stays hers to change
    modify_for(session, alice, office.users["alice"], body(mobileNumber="+1"), box=BOX, now=NOW)
