"""A database that was never migrated, or is behind: one clear line from every entry point.

Before, the first query failed inside the command with a traceback ("no such table:
accounts"). ``reportd db upgrade`` and ``reportd demo`` still work on an empty database.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from service.cli import App, cli
from service.config import Settings
from storage.db import make_engine
from storage.migrate import head_revision, known_revisions, upgrade

#: Commands that read or write the database, one of each family (their arguments valid).
DATABASE_COMMANDS = [
    ["accounts", "list"],
    ["accounts", "create", "Example"],
    ["contacts", "list"],
    ["roles", "list"],
    ["tasks", "list"],
    ["runs", "list"],
    ["apikeys", "list"],
    ["users", "list"],
    ["export"],
    ["scheduler", "--once"],
    ["reconcile"],
    ["api", "--port", "1"],
    ["worker"],
]


def invoke(settings: Settings, args: list[str]) -> Result:
    return CliRunner().invoke(cli, args, obj=App(settings=settings))


@pytest.fixture
def empty(tmp_path: Path) -> Settings:
    """Settings over an empty SQLite file, as a fresh install has before `db upgrade`."""
    database = tmp_path / "empty.sqlite3"
    database.touch()
    return Settings(database_url=f"sqlite:///{database}", data_dir=tmp_path / "data")


@pytest.fixture
def behind(tmp_path: Path) -> Settings:
    """Settings over a database one migration behind the newest."""
    url = f"sqlite:///{tmp_path / 'behind.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine, "head-1")
    engine.dispose()
    return Settings(database_url=url, data_dir=tmp_path / "data")


@pytest.mark.parametrize("args", DATABASE_COMMANDS, ids=" ".join)
def test_every_command_on_an_empty_database_says_to_migrate(
    empty: Settings, args: list[str]
) -> None:
    result = invoke(empty, args)

    assert result.exit_code == 1, result.output
    assert "the database is not migrated: run `reportd db upgrade`" in result.output
    assert "Traceback" not in result.output and "no such table" not in result.output


@pytest.mark.parametrize("args", DATABASE_COMMANDS[:4], ids=" ".join)
def test_a_database_behind_the_newest_migration_says_to_migrate_naming_both(
    behind: Settings, args: list[str]
) -> None:
    result = invoke(behind, args)

    assert result.exit_code == 1, result.output
    assert "the database is not migrated: run `reportd db upgrade`" in result.output
    assert f"this reportd needs {head_revision()}" in result.output


def test_db_upgrade_migrates_an_empty_database_and_commands_then_work(empty: Settings) -> None:
    upgraded = invoke(empty, ["db", "upgrade"])
    created = invoke(empty, ["accounts", "create", "Example"])
    listed = invoke(empty, ["accounts", "list"])

    assert upgraded.exit_code == 0 and "up to date" in upgraded.output
    assert created.exit_code == 0 and listed.exit_code == 0
    assert "Example" in listed.output


def test_a_database_migrated_by_a_newer_reportd_is_named_so(behind: Settings) -> None:
    engine = make_engine(behind.resolved_database_url())
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999_future'")
    engine.dispose()
    assert "9999_future" not in known_revisions()

    result = invoke(behind, ["accounts", "list"])

    assert result.exit_code == 1
    assert "9999_future" in result.output and "newer reportd" in result.output
