"""The reportd command over stored data, run as a user would (click's runner, a file DB)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from service.cli import App, cli
from service.config import Settings
from service.directory.sample import sample_dataset
from storage.models import Computer, Contact
from tests.conftest import POSTGRES_URL, drop_postgres_database, need, postgres_engine


@pytest.fixture
def app(tmp_path: Path) -> App:
    return App(settings=Settings(data_dir=tmp_path / "data"))


def run(app: App, *args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), obj=app, input=input, catch_exceptions=False)


@pytest.fixture
def loaded(app: App, tmp_path: Path) -> App:
    assert run(app, "db", "upgrade").exit_code == 0
    assert run(app, "accounts", "create", "Demo Corp").exit_code == 0
    sample = tmp_path / "sample.json"
    sample.write_text(json.dumps(sample_dataset(now=datetime.now(UTC))))
    result = run(app, "import", str(sample))
    assert result.exit_code == 0, result.output
    return app


def test_scope_prints_what_a_restricted_contacts_clearance_sees(loaded: App) -> None:
    result = run(loaded, "scope", "hanako.sato@example.jp", "--verbose")
    assert result.exit_code == 0
    assert "clearance: Web Team" in result.output
    assert "computers: 12" in result.output
    assert "fron-01" in result.output and "lapt-01" not in result.output


def test_contacts_add_prompts_for_the_password_and_list_never_shows_it(loaded: App) -> None:
    result = run(
        loaded,
        "contacts",
        "add",
        "--name",
        "Kim",
        "--email",
        "kim@example.com",
        "--role",
        "Auditor",
        "--locale",
        "ko-KR",
        "--password-protected",
        "--report-password",
        input="pa55word\npa55word\n",
    )
    assert result.exit_code == 0, result.output
    listing = run(loaded, "contacts", "list").output
    assert "Kim" in listing and "[password protected]" in listing and "pa55word" not in listing
    exported = run(loaded, "export").output
    assert "pa55word" not in exported and '"reportPDFPassword"' not in exported


def test_a_bad_email_is_one_clear_line_naming_the_option(loaded: App) -> None:
    result = run(loaded, "contacts", "add", "--name", "X", "--email", "nope", "--role", "Auditor")
    assert result.exit_code == 2  # click's usage error, naming the option
    assert "'--email'" in result.output and "Traceback" not in result.output


def test_a_failed_import_leaves_the_database_as_it_was(loaded: App, tmp_path: Path) -> None:
    data = sample_dataset(now=datetime.now(UTC))
    data["contacts"][2]["emailAddress"] = "broken"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    with loaded.sessions() as session:
        before = (
            session.scalar(select(func.count(Computer.id))),
            session.scalar(select(func.count(Contact.id))),
        )
    assert run(loaded, "accounts", "create", "Second Corp").exit_code == 0
    result = run(loaded, "--account", "Second Corp", "import", str(bad))
    assert result.exit_code == 1 and "contacts[2]" in result.output
    with loaded.sessions() as session:
        after = (
            session.scalar(select(func.count(Computer.id))),
            session.scalar(select(func.count(Contact.id))),
        )
    assert after == before


def test_roles_show_lists_the_rights_of_a_preconfigured_role(loaded: App) -> None:
    result = run(loaded, "roles", "show", "Auditor")
    assert "can_view_other_computers: True" in result.output
    assert "contactRights: hide" in result.output


@pytest.mark.postgres
def test_an_import_into_postgresql_leaves_fresh_planner_statistics(tmp_path: Path) -> None:
    url = make_url(POSTGRES_URL)
    url = url.set(database=f"{url.database}_import").render_as_string(hide_password=False)
    engine = postgres_engine(url)
    need("PostgreSQL", engine is not None, f"cannot create a database at {url}")
    assert engine is not None
    app = App(settings=Settings(data_dir=tmp_path / "data", database_url=url))
    try:
        assert run(app, "accounts", "create", "Demo Corp").exit_code == 0
        sample = tmp_path / "sample.json"
        sample.write_text(json.dumps(sample_dataset(now=datetime.now(UTC))))

        assert run(app, "import", str(sample)).exit_code == 0

        with engine.connect() as connection:
            estimates = dict(
                connection.execute(
                    text(
                        "SELECT relname, reltuples FROM pg_class"
                        " WHERE relname IN ('security_events', 'computers')"
                    )
                ).all()
            )
        # Never analyzed, PostgreSQL says -1; analyzed, it knows the rows the import wrote.
        assert estimates["security_events"] > 0 and estimates["computers"] > 0
    finally:
        app.engine.dispose()
        drop_postgres_database(engine)


def test_custom_user_rights_and_delegate_authority_survive_export_then_import(
    loaded: App, tmp_path: Path
) -> None:
    from dataclasses import replace

    from service.directory.accounts import create_role
    from service.directory.rights import NEW_ROLE_DEFAULTS, UserRightsPreset
    from storage.models import Account, Role
    from storage.records import role_record

    # Given a role with Custom User Rights (seed 003: some user and role rights, delegate
    # authority on) beside the preconfigured ones
    custom = replace(
        NEW_ROLE_DEFAULTS,
        user_rights=UserRightsPreset.custom,
        can_view_users=True,
        can_create_new_users=True,
        can_edit_user_properties=False,
        can_delete_users=True,
        can_view_roles=True,
        can_create_new_roles=False,
        can_edit_role_properties=True,
        can_delete_roles=False,
        can_only_manipulate_users_with_equal_or_lesser_rights=True,
    )
    with loaded.sessions() as session, session.begin():
        demo = session.scalars(select(Account.id).where(Account.name == "Demo Corp")).one()
        create_role(session, account_id=demo, name="Delegating Admins", rights=custom)

    # When the account is exported and the file imported into another account (the CLI both)
    exported = run(loaded, "export")
    assert exported.exit_code == 0, exported.output
    data = json.loads(exported.output)
    for person in data["contacts"] + data.get("users", []):
        if person.get("reportPDFPasswordEnabled"):
            person["reportPDFPassword"] = "re-entered"  # never exported: entered again
    dump = tmp_path / "export.json"
    dump.write_text(json.dumps(data))
    assert run(loaded, "accounts", "create", "Second Corp").exit_code == 0
    result = run(loaded, "--account", "Second Corp", "import", str(dump))
    assert result.exit_code == 0, result.output

    # Then every role of the copy has exactly the rights of the original's role of that name
    def rights_by_name(account: str) -> dict[str, dict[str, object]]:
        with loaded.sessions() as session:
            account_id = session.scalars(select(Account.id).where(Account.name == account)).one()
            roles = session.scalars(select(Role).where(Role.account_id == account_id))
            return {r.name: role_record(r).rights for r in roles}

    original, copy = rights_by_name("Demo Corp"), rights_by_name("Second Corp")
    assert copy == original
    copied = copy["Delegating Admins"]
    assert copied["user_rights"] == "custom"
    assert copied["can_only_manipulate_users_with_equal_or_lesser_rights"] is True
    assert (copied["can_view_users"], copied["can_edit_user_properties"]) == (True, False)
    assert (copied["can_edit_role_properties"], copied["can_delete_roles"]) == (True, False)
