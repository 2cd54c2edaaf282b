"""Schemathesis over the whole OpenAPI document of /api: no 5xx, no answer slower than 2 s.

Four runs: a Full Access key and a restricted key (computers of one group, contacts view-only,
tasks full), each on SQLite and on PostgreSQL. Each run has a world of its own (two accounts
with the sample dataset, extra roles, two scheduled tasks per account), since the generated
requests create and delete things at random; the key a run uses is made again when a
request revoked it (``FuzzedApi.keep_access``). The console's pages are not in the document.

Bounded on purpose (a few derandomized examples per operation, no coverage phase) so that
the four runs take under three minutes on the 2-core CI machine.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks
from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from service.api.app import create_app
from service.api.keys import new_key
from service.config import Settings
from service.directory.accounts import create_role
from service.directory.rights import FULL_ACCESS, NEW_ROLE_DEFAULTS, AccessLevel, RoleRights
from storage.db import make_engine, make_session_factory, transaction
from storage.migrate import upgrade
from storage.models import ComputerGroup, Role, RoleComputerGroup
from tests.conftest import POSTGRES_URL, drop_postgres_database, need, postgres_engine
from tests.service.api.conftest import NOW, SECRET, ApiServer, Tenant, build_tenant

#: Examples per operation of the fuzzing phase: 58 operations, so some 300 requests a run.
#: 10 cost 3 minutes of CPU for the four runs, 5 about 75 s.
MAX_EXAMPLES = 5
#: Whether to run schemathesis's coverage phase too (by hand: some 20 minutes in all).
DEEP = os.environ.get("REPORTD_TEST_SCHEMATHESIS_COVERAGE") == "1"
#: The slowest answer allowed (issue 15): a slower one stalls every client behind it.
MAX_RESPONSE_SECONDS = 2.0
#: The two keys: one of a role with every right, one of a restricted role.
FULL, RESTRICTED = "full", "restricted"
#: The checks that hold for any request: documented status, content type, body and headers,
#: and no 5xx.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


def restricted_rights() -> RoleRights:
    """Computers of the "Web Servers" group only, contacts view-only, tasks full."""
    rights = replace(
        NEW_ROLE_DEFAULTS,
        allow_web_service=True,
        all_computers=False,
        can_view_other_computers=False,
    )
    return replace(
        rights,
        other_rights={
            **NEW_ROLE_DEFAULTS.other_rights,
            "contactRights": AccessLevel.view_only.value,
            "scheduledTaskRights": AccessLevel.full.value,
        },
    )


def make_fuzz_role(session: Session, account_id: int, role: str) -> int:
    """The role the run's key has: made by the test, so that it can be made again."""
    rights = FULL_ACCESS if role == FULL else restricted_rights()
    name = f"fuzz {role} {time.monotonic_ns()}"  # a name no generated request has taken
    made = create_role(session, account_id=account_id, name=name, rights=rights)
    if role == RESTRICTED:
        web = session.scalars(
            select(ComputerGroup.id).where(
                ComputerGroup.account_id == account_id, ComputerGroup.name == "Web Servers"
            )
        ).one()
        made.computer_groups = [RoleComputerGroup(group_id=web)]
    session.flush()
    return made.id


def task_body(name: str, contact_ids: list[int]) -> dict[str, Any]:
    start = int((NOW + timedelta(days=1)).timestamp() * 1000)
    return {
        "name": name,
        "type": "generate-report",
        "enabled": True,
        "scheduleDetails": {
            "timeZone": "UTC",
            "recurrenceType": "daily",
            "dailyScheduleParameters": {"startTime": start, "frequencyType": "everyday"},
        },
        "generateReportTaskParameters": {
            "reportTemplateID": 1,
            "format": "pdf",
            "recipients": {"contactIDs": contact_ids},
            "timeRange": {"units": "day", "value": 7},
        },
    }


def add_tasks(base: str, tenant: Tenant) -> None:
    """Scheduled tasks through the API itself, so they are what the API stores."""
    headers = {"api-secret-key": tenant.secrets["Full Access"], "api-version": "v1"}
    contacts = sorted(tenant.contacts.values())
    with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
        for index, recipients in enumerate((contacts[:1], contacts[:3])):
            answer = http.post("/scheduledtasks", json=task_body(f"weekly {index}", recipients))
            assert answer.status_code == 200, answer.text


@dataclass
class FuzzedApi:
    """The server under test and the key the run uses, kept working (``keep_access``)."""

    root: str
    secret: str
    sessions: sessionmaker[Session]
    account_id: int
    role: str
    role_id: int

    def headers(self) -> dict[str, str]:
        return {"api-secret-key": self.secret, "api-version": "v1"}

    def keep_access(self) -> None:
        """A new key (on a new role if need be) when a generated request revoked this one.

        A Full Access key may re-key itself, delete itself or its role (``POST
        /apikeys/current/secretkey``, ``DELETE /apikeys/{id}``, ``DELETE /roles/{id}``) as the
        fuzzer picks small IDs: every later request would be a 401 and prove nothing.
        """
        answer = httpx.get(f"{self.root}/api/apikeys/current", headers=self.headers())
        if answer.status_code != 401:
            return
        with transaction(self.sessions) as session:
            if session.get(Role, self.role_id) is None:
                self.role_id = make_fuzz_role(session, self.account_id, self.role)
            _, self.secret = new_key(
                session,
                account_id=self.account_id,
                role_id=self.role_id,
                name=f"fuzz {time.monotonic_ns()}",
            )


def database_for(backend: str, tmp: Path) -> tuple[str, Engine | None]:
    """A migrated database URL; the PostgreSQL engine is returned to be dropped afterwards."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'fuzz.sqlite3'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        return url, None
    # A database of its own beside the suite's: the suite's is shared by the other tests.
    own = make_url(POSTGRES_URL).set(database=f"reportd_fuzz_{os.getpid()}")
    url = own.render_as_string(hide_password=False)
    engine = postgres_engine(url)
    need("PostgreSQL", engine is not None, f"cannot create a database at {url}")
    assert engine is not None
    return url, engine


@pytest.fixture(
    params=[
        pytest.param(("sqlite", FULL), id="sqlite-full"),
        pytest.param(("sqlite", RESTRICTED), id="sqlite-restricted"),
        pytest.param(("postgresql", FULL), id="postgresql-full", marks=pytest.mark.postgres),
        pytest.param(
            ("postgresql", RESTRICTED), id="postgresql-restricted", marks=pytest.mark.postgres
        ),
    ]
)
def fuzzed_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FuzzedApi]:
    backend, role = request.param
    url, server_engine = database_for(backend, tmp_path_factory.mktemp("fuzz"))
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    try:
        with transaction(sessions) as session:
            a = build_tenant(session, "Tenant A")
            b = build_tenant(session, "Tenant B")
            role_id = make_fuzz_role(session, a.account_id, role)
            _, secret = new_key(session, account_id=a.account_id, role_id=role_id, name="fuzz")
        app = create_app(Settings(database_url=url, secret_key=SECRET))
        with ApiServer(app) as server:
            for tenant in (a, b):
                add_tasks(server.base, tenant)
            yield FuzzedApi(
                root=f"http://127.0.0.1:{server.port}",
                secret=secret,
                sessions=sessions,
                account_id=a.account_id,
                role=role,
                role_id=role_id,
            )
        # The application's own engine: its pooled PostgreSQL connections would otherwise
        # be closed by the garbage collector, in the middle of the next test (a warning).
        app.state.services.sessions.kw["bind"].dispose()
    finally:
        engine.dispose()
        if server_engine is not None:
            drop_postgres_database(server_engine)


@pytest.fixture
def api_schema(fuzzed_api: FuzzedApi) -> schemathesis.BaseSchema:
    loaded = schemathesis.openapi.from_url(f"{fuzzed_api.root}/openapi.json")
    # The coverage phase sends every boundary and invalid value of every field: some 10,000
    # requests a run, 5 minutes on the 2-core machine, against the budget of 3 minutes for
    # all four runs. The fuzzing phase's examples (positive and negative) stay; set
    # REPORTD_TEST_SCHEMATHESIS_COVERAGE=1 for the deep run by hand.
    loaded.config.phases.coverage.enabled = DEEP
    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
def test_every_operation_answers_as_documented_and_in_time(
    case: schemathesis.Case[Any], fuzzed_api: FuzzedApi
) -> None:
    response = case.call_and_validate(
        base_url=fuzzed_api.root, headers=fuzzed_api.headers(), checks=CHECKS
    )
    fuzzed_api.keep_access()
    assert response.status_code < 500  # also checked above; stated for the reader
    assert response.elapsed < MAX_RESPONSE_SECONDS, (
        f"{case.method} {case.formatted_path} took {response.elapsed:.2f} s"
    )
