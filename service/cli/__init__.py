"""The ``reportd`` command: thin over the service functions, one module per command family."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property

import click
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.directory.secretbox import SecretBox
from service.errors import ReportdError
from service.runtime.logs import configure_logging
from service.runtime.schema import require_migrated
from storage.db import make_engine, make_session_factory, transaction


@dataclass
class App:
    """What every command needs, built once from the settings at the entry point."""

    settings: Settings
    account_name: str | None = None

    @cached_property
    def raw_engine(self) -> Engine:
        """The engine whatever the schema: only for the commands that migrate."""
        return make_engine(self.settings.resolved_database_url())

    @cached_property
    def engine(self) -> Engine:
        """The engine of a database at the newest migration; ``DatabaseNotMigrated`` if not."""
        require_migrated(self.raw_engine)
        return self.raw_engine

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)

    @cached_property
    def box(self) -> SecretBox:
        return SecretBox(self.settings.secret_key.get_secret_value())

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with transaction(self.sessions) as session:
            yield session


pass_app = click.make_pass_decorator(App)


class ReportdGroup(click.Group):
    """Errors reportd raises on purpose become one clear line and exit status 1."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ReportdError as error:
            raise click.ClickException(str(error)) from error


@click.group(cls=ReportdGroup)
@click.option("--account", "account_name", envvar="REPORTD_ACCOUNT", help="Account name.")
@click.pass_context
def cli(ctx: click.Context, account_name: str | None) -> None:
    """reportd: security reports for each contact, as far as their clearance reaches."""
    if ctx.obj is None:
        ctx.obj = App(settings=Settings(), account_name=account_name)
    elif account_name:
        ctx.obj.account_name = account_name


def main() -> None:
    """The console script: logs go to stderr (JSON lines unless REPORTD_LOG_JSON=false)."""
    settings = Settings()
    configure_logging(settings.log_level, json_lines=settings.log_json)
    cli(prog_name="reportd", obj=App(settings=settings))


# The command families register themselves on ``cli``.
from service.cli import (  # noqa: E402, F401
    api,
    data,
    demo,
    distribution,
    ops,
    preview,
    smartfolders,
    tasks,
    users,
)
