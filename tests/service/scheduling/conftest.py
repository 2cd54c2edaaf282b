"""What the scheduler's tests share: an account with two contacts and one user."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from service.directory.accounts import create_account
from service.directory.contacts import add_contact
from service.directory.secretbox import SecretBox
from storage.models import Membership, User


@dataclass(frozen=True)
class Account:
    id: int
    contact_ids: list[int]
    user_id: int


@pytest.fixture
def account(session: Session) -> Account:
    """An account with two contacts and one user."""
    created = create_account(session, name=f"Scheduler {id(session)}")
    box = SecretBox("k")
    contacts = [
        add_contact(
            session,
            account_id=created.id,
            box=box,
            name=name,
            email_address=f"{name.lower()}.{id(session)}@example.com",
            role_id=None,
        ).id
        for name in ("Ann", "Bob")
    ]
    user = User(email_address=f"admin.{id(session)}@example.com", name="Admin")
    session.add(user)
    session.flush()
    session.add(Membership(account_id=created.id, user_id=user.id))
    session.flush()
    return Account(id=created.id, contact_ids=contacts, user_id=user.id)
