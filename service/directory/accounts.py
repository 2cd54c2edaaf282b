"""Accounts and roles: a new account gets the console's five preconfigured roles."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.directory.rights import NEW_ROLE_DEFAULTS, PRECONFIGURED_ROLES, RoleRights
from service.errors import InvalidInput, NotFound
from storage.models import Account, Role


def create_account(session: Session, *, name: str, region: str = "") -> Account:
    """A new account with the preconfigured roles; the name must be unused."""
    name = name.strip()
    if not name:
        raise InvalidInput("account name: must not be empty")
    if session.scalars(select(Account).where(Account.name == name)).first() is not None:
        raise InvalidInput(f"account name: {name!r} is already taken")
    account = Account(name=name, region=region)
    session.add(account)
    session.flush()
    for preset in PRECONFIGURED_ROLES:
        session.add(
            Role(
                account_id=account.id,
                name=preset.name,
                description=preset.description,
                immutable=preset.immutable,
                **preset.rights.as_columns(),
            )
        )
    session.flush()
    return account


def create_role(
    session: Session,
    *,
    account_id: int,
    name: str,
    description: str = "",
    rights: RoleRights = NEW_ROLE_DEFAULTS,
) -> Role:
    """A new role; unless told otherwise it has the seed's "New Role Defaults"."""
    name = name.strip()
    if not name:
        raise InvalidInput("role name: must not be empty")
    taken = select(Role.id).where(Role.account_id == account_id, Role.name == name)
    if session.scalars(taken).first() is not None:
        raise InvalidInput(f"role name: {name!r} already exists in this account")
    role = Role(account_id=account_id, name=name, description=description, **rights.as_columns())
    session.add(role)
    session.flush()
    return role


def find_account(session: Session, name: str | None) -> Account:
    """The account called ``name``; without a name, the only account there is."""
    if name:
        account = session.scalars(select(Account).where(Account.name == name)).first()
        if account is None:
            raise NotFound(f"no account named {name!r}")
        return account
    accounts = session.scalars(select(Account).order_by(Account.id).limit(2)).all()
    if len(accounts) == 1:
        return accounts[0]
    if not accounts:
        raise NotFound("there is no account yet; create one with 'reportd accounts create'")
    raise InvalidInput("there are several accounts; name one with --account")


def find_role(session: Session, account_id: int, ref: str | int) -> Role:
    """A role of the account by id or name."""
    statement = select(Role).where(Role.account_id == account_id)
    if isinstance(ref, int) or str(ref).isdigit():
        role = session.scalars(statement.where(Role.id == int(ref))).first()
    else:
        role = session.scalars(statement.where(Role.name == ref)).first()
    if role is None:
        raise NotFound(f"no role {ref!r} in this account")
    return role
