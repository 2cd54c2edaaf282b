"""A real reportd API on 127.0.0.1 (uvicorn in a thread) over a SQLite file, and SDK clients.

``api_world`` is built once per module: two accounts with the sample dataset, extra roles, and
an API key per role; ``sdk(role)`` gives an ``ApiClient`` of the official SDK for that key.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import deepsecurity  # type: ignore[import-untyped]
import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.api.app import create_app
from service.api.keys import new_key
from service.config import Settings
from service.delivery.dispatch import Dispatcher
from service.directory.accounts import create_account, create_role
from service.directory.importing import import_dataset, parse_dataset
from service.directory.rights import NEW_ROLE_DEFAULTS, RoleRights, UserRightsPreset
from service.directory.sample import sample_dataset
from service.directory.secretbox import SecretBox
from storage.db import make_engine, make_session_factory, transaction
from storage.migrate import upgrade
from storage.models import ComputerGroup, Role, RoleComputerGroup

NOW = datetime.now(UTC).replace(microsecond=0)
SECRET = "api-test-secret"
VERSION = "v1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ApiServer:
    """uvicorn serving ``app`` in a thread until ``stop``."""

    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", ws="none", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ApiServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the API server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"


#: Custom roles made for the tests: name -> rights (the selection is the "Web Servers" group).
def custom_roles() -> dict[str, RoleRights]:
    web_only = replace(NEW_ROLE_DEFAULTS, allow_web_service=True, all_computers=False)
    web_only = replace(web_only, can_view_other_computers=False)
    minimal = replace(
        NEW_ROLE_DEFAULTS,
        all_computers=False,
        can_view_computers=False,
        can_view_other_computers=False,
        can_view_not_related_to_computers=False,
        all_policies=False,
        can_view_policies=False,
        can_view_other_policies=False,
        other_rights=dict.fromkeys(NEW_ROLE_DEFAULTS.other_rights, "hide"),
    )
    return {
        "Contact Manager": replace(
            web_only,
            other_rights={
                **NEW_ROLE_DEFAULTS.other_rights,
                "contactRights": "full",
                "scheduledTaskRights": "full",
            },
        ),
        "Key Admin": web_only.with_user_rights(UserRightsPreset.create_manage_equal_or_less),
        "Role Admin": web_only.with_user_rights(UserRightsPreset.full_control),
        "No API": replace(NEW_ROLE_DEFAULTS, allow_web_service=False),
        "Minimal": minimal,
        # Minimal with web service access: the role any key may give a new key.
        "Minimal API": replace(minimal, allow_web_service=True),
    }


@dataclass
class Tenant:
    account_id: int
    roles: dict[str, int] = field(default_factory=dict)  # name -> id
    secrets: dict[str, str] = field(default_factory=dict)  # role name -> key secret
    key_ids: dict[str, int] = field(default_factory=dict)  # role name -> key id
    contacts: dict[str, int] = field(default_factory=dict)  # email -> id


@dataclass
class ApiWorld:
    settings: Settings
    sessions: sessionmaker[Session]
    server: ApiServer
    a: Tenant
    b: Tenant

    def sdk(self, role: str, tenant: Tenant | None = None) -> deepsecurity.ApiClient:
        config = deepsecurity.Configuration()
        config.host = self.server.base
        # Configuration() copies a shared default: give each client its own api_key dict.
        config.api_key = {"api-secret-key": (tenant or self.a).secrets[role]}
        return deepsecurity.ApiClient(config)

    def http(self, role: str | None, tenant: Tenant | None = None) -> httpx.Client:
        headers = {"api-version": VERSION}
        if role is not None:
            headers["api-secret-key"] = (tenant or self.a).secrets[role]
        return httpx.Client(base_url=self.server.base, headers=headers, timeout=30)


def build_tenant(session: Session, name: str) -> Tenant:
    account = create_account(session, name=name)
    data = parse_dataset(json.dumps(sample_dataset(now=NOW, events_per_day=4)))
    import_dataset(session, account_id=account.id, dataset=data, box=SecretBox(SECRET))
    tenant = Tenant(account_id=account.id)
    web = session.scalars(
        select(ComputerGroup.id).where(
            ComputerGroup.account_id == account.id, ComputerGroup.name == "Web Servers"
        )
    ).one()
    for role_name, rights in custom_roles().items():
        role = create_role(session, account_id=account.id, name=role_name, rights=rights)
        role.computer_groups = [RoleComputerGroup(group_id=web)]
    session.flush()
    for role in session.scalars(select(Role).where(Role.account_id == account.id)):
        tenant.roles[role.name] = role.id
        key, secret = new_key(
            session, account_id=account.id, role_id=role.id, name=f"key {role.name}"
        )
        tenant.secrets[role.name] = secret
        tenant.key_ids[role.name] = key.id
    from storage.models import Contact

    for contact in session.scalars(select(Contact).where(Contact.account_id == account.id)):
        tenant.contacts[contact.email_address] = contact.id
    return tenant


def make_api_world(
    tmp: Path, server_factory: Any = None, dispatcher: Dispatcher | None = None
) -> tuple[Settings, sessionmaker[Session], Tenant, Tenant, FastAPI]:
    url = f"sqlite:///{tmp / 'api.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        a = build_tenant(session, "Tenant A")
        b = build_tenant(session, "Tenant B")
    settings = Settings(database_url=url, secret_key=SECRET)
    return settings, sessions, a, b, create_app(settings, dispatcher=dispatcher)


@pytest.fixture(scope="module")
def api_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiWorld]:
    settings, sessions, a, b, app = make_api_world(tmp_path_factory.mktemp("api"))
    with ApiServer(app) as server:
        yield ApiWorld(settings=settings, sessions=sessions, server=server, a=a, b=b)
