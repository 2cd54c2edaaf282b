"""Arbitrary text and integers at every ``reportd`` command: an error message, never a traceback.

The click command tree of ``service.cli`` is walked, so a new command is fuzzed without being
listed here; only the commands that start a loop or a server are skipped (``SKIPPED``, with
the reason). Each command gets a bounded, derandomized number of argument lists, drawn per
option and argument: absent or present, with text (no NUL, which no argv can carry), an
integer of any size, or one of the option's choices. Every run is against one migrated
SQLite database holding the sample account, so that the commands reach real rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import click
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.cli import App, cli
from service.config import Settings
from service.directory.sample import sample_dataset

#: Argument lists per command: 36 commands, some 1,000 invocations (about a minute).
MAX_EXAMPLES = 30
#: Commands not fuzzed: each starts something that runs until stopped.
SKIPPED = {
    "api": "serves HTTP until stopped",
    "worker": "replaces the process with dramatiq workers (execv)",
    "scheduler": "fires tasks in a loop until stopped (one pass with --once is tested elsewhere)",
    "demo": "starts an SMTP sink and renders with Chromium, over its own database",
    "smtp-sink": "serves SMTP until stopped",
}
#: Options never drawn: they turn a one-off command into a loop.
LOOPING_OPTIONS = {("reconcile", "--loop")}
#: The account the commands act on, and one without contacts: ``render`` and ``send`` act on
#: that one, so that an ID that happens to name a contact does not print or mail a real PDF
#: through Chromium (seconds each); their options are parsed all the same.
ACCOUNT, EMPTY_ACCOUNT = "Fuzz Corp", "Empty Corp"
RENDERING = {"render", "send"}


def leaf_commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from leaf_commands(command, (*path, name))
        else:
            yield (*path, name)


def command_at(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


#: Text as a shell could pass it: any character but NUL and lone surrogates.
TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=24)
#: Integers of any size, written as the shell would.
INTEGERS = st.integers().map(str)


def values_for(param: click.Parameter) -> st.SearchStrategy[str]:
    arbitrary = st.one_of(TEXT, INTEGERS)
    if isinstance(param.type, click.Choice):
        return st.one_of(st.sampled_from([str(c) for c in param.type.choices]), arbitrary)
    return arbitrary


@st.composite
def argv_for(draw: st.DrawFn, path: tuple[str, ...]) -> list[str]:
    """Some of the command's options, each with drawn values, then its arguments."""
    command = command_at(path)
    argv = list(path)
    for param in command.params:
        if isinstance(param, click.Argument):
            continue
        assert isinstance(param, click.Option)
        name = param.opts[-1]
        if (path[-1], name) in LOOPING_OPTIONS or name == "--help" or not draw(st.booleans()):
            continue
        if param.is_flag:
            argv.append(name)
            continue
        for _ in range(draw(st.integers(1, 2)) if param.multiple else 1):
            argv += [name, draw(values_for(param))]
    for param in command.params:
        if isinstance(param, click.Argument):
            argv += [draw(values_for(param)) for _ in range(max(param.nargs, 1))]
    return argv


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, App]:
    """Two Apps over one migrated database: the sample account, and an account with nothing."""
    folder = tmp_path_factory.mktemp("cli-fuzz")
    config = Settings(
        database_url=f"sqlite:///{folder / 'fuzz.sqlite3'}",
        data_dir=folder / "data",
        broker_url="",
    )
    app = App(settings=config, account_name=ACCOUNT)
    sample = folder / "sample.json"
    sample.write_text(json.dumps(sample_dataset(now=datetime.now(UTC), events_per_day=2)))
    for args in (["db", "upgrade"], ["accounts", "create", ACCOUNT], ["import", str(sample)]):
        result = CliRunner().invoke(cli, args, obj=app, catch_exceptions=False)
        assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli, ["accounts", "create", EMPTY_ACCOUNT], obj=app)
    assert result.exit_code == 0, result.output
    empty = App(settings=config, account_name=EMPTY_ACCOUNT)
    return {ACCOUNT: app, EMPTY_ACCOUNT: empty}


COMMANDS = [path for path in leaf_commands(cli) if path[0] not in SKIPPED]


def test_the_skipped_commands_exist() -> None:
    """A renamed command must not drop out of the skip list unnoticed (and so into a loop)."""
    assert set(SKIPPED) <= set(cli.commands)


@pytest.mark.slow
@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_arbitrary_arguments_get_an_error_message_never_a_traceback(
    path: tuple[str, ...],
    apps: dict[str, App],
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Files a command writes (export -o, render -o) land in a folder of their own.
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    app = apps[EMPTY_ACCOUNT if path[0] in RENDERING else ACCOUNT]

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(argv=argv_for(path))
    def arbitrary_arguments(argv: list[str]) -> None:
        result = CliRunner().invoke(cli, argv, obj=app, input="")

        # SystemExit is click's way out (a usage error, an abort, exit status 1).
        unexpected = result.exception is not None and not isinstance(result.exception, SystemExit)
        assert not unexpected, f"{argv!r} raised {result.exception!r}\n{result.output}"
        if result.exit_code != 0:
            assert result.output.strip(), f"{argv!r} failed without a message"

    arbitrary_arguments()
