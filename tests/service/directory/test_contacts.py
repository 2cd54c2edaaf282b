"""Contacts: every field checked before anything is written; the password never leaves sealed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.directory.accounts import create_account, find_role
from service.directory.contacts import add_contact, delete_contact, edit_contact, list_contacts
from service.directory.secretbox import SecretBox
from service.errors import InvalidInput, NotFound
from storage.models import Contact

BOX = SecretBox("test-key")


@pytest.fixture
def account_id(session: Session) -> int:
    return create_account(session, name="Contacts Inc.").id


def _auditor(session: Session, account_id: int) -> int:
    return find_role(session, account_id, "Auditor").id


def _count(session: Session) -> int:
    return session.scalar(select(func.count(Contact.id))) or 0


def test_a_contact_is_stored_with_a_normalised_address_and_canonical_locale(session, account_id):
    view = add_contact(
        session,
        account_id=account_id,
        box=BOX,
        name="Aiko",
        email_address="Aiko@Example.COM",
        locale="ja_jp",
        time_zone="Asia/Tokyo",
        role_id=_auditor(session, account_id),
    )
    assert view.email_address == "Aiko@example.com"
    assert view.locale == "ja-JP"
    assert "reportPDFPassword" not in view.to_api()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email_address", "not-an-address", "emailAddress"),
        ("email_address", "a@b@c", "emailAddress"),
        ("locale", "xx-YY", "unknown locale"),
        ("time_zone", "Mars/Olympus", "unknown time zone"),
        ("role_id", 999_999, "roleID"),
        ("role_id", "Auditor", "roleID"),
        ("name", "Eve\r\nBcc: x@example.com", "name"),
    ],
)
def test_bad_input_is_refused_with_the_field_named_and_nothing_written(
    session, account_id, field, value, message
):
    values = {
        "name": "Bob",
        "email_address": "bob@example.com",
        "role_id": _auditor(session, account_id),
        field: value,
    }
    before = _count(session)
    with pytest.raises(InvalidInput, match=message):
        add_contact(session, account_id=account_id, box=BOX, **values)
    assert _count(session) == before


def test_protected_reports_need_a_password_and_it_is_stored_sealed(session, account_id):
    role_id = _auditor(session, account_id)
    with pytest.raises(InvalidInput, match="reportPDFPassword"):
        add_contact(
            session,
            account_id=account_id,
            box=BOX,
            name="Carol",
            email_address="carol@example.com",
            role_id=role_id,
            report_pdf_password_enabled=True,
        )
    view = add_contact(
        session,
        account_id=account_id,
        box=BOX,
        name="Carol",
        email_address="carol@example.com",
        role_id=role_id,
        report_pdf_password_enabled=True,
        report_pdf_password="s3cret!",
    )
    stored = session.get(Contact, view.id)
    assert stored is not None and stored.report_pdf_password_encrypted is not None
    assert b"s3cret!" not in stored.report_pdf_password_encrypted
    assert BOX.open(stored.report_pdf_password_encrypted) == "s3cret!"


def test_edit_changes_only_the_given_fields_and_delete_removes(session, account_id):
    role_id = _auditor(session, account_id)
    view = add_contact(
        session,
        account_id=account_id,
        box=BOX,
        name="Dan",
        email_address="dan@example.com",
        role_id=role_id,
    )
    edited = edit_contact(
        session, account_id=account_id, contact_id=view.id, box=BOX, description="night shift"
    )
    assert edited.description == "night shift" and edited.email_address == "dan@example.com"
    delete_contact(session, account_id=account_id, contact_id=view.id)
    assert [c.name for c in list_contacts(session, account_id=account_id)] == []


def test_another_accounts_contact_is_not_found(session, account_id):
    other = create_account(session, name="Other Inc.")
    view = add_contact(
        session,
        account_id=other.id,
        box=BOX,
        name="Eve",
        email_address="eve@example.com",
        role_id=_auditor(session, other.id),
    )
    with pytest.raises(NotFound):
        edit_contact(session, account_id=account_id, contact_id=view.id, box=BOX, name="Mallory")


def test_a_contact_cannot_get_a_role_of_another_account(session, account_id):
    other = create_account(session, name="Other Inc.")
    with pytest.raises(InvalidInput, match="roleID"):
        add_contact(
            session,
            account_id=account_id,
            box=BOX,
            name="Fay",
            email_address="fay@example.com",
            role_id=_auditor(session, other.id),
        )
