"""Counts and limits on the command line are bounded: a huge one is a usage error naming it.

Found by ``test_cli_fuzz``: ``runs list --limit 9223372036854775808`` raised OverflowError
from the database driver, and ``tasks next T --count`` with a huge count on an endless
schedule never returned.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from service.cli import App, cli
from service.config import Settings

HUGE = "9223372036854775808"  # one past the largest 64-bit integer


@pytest.mark.parametrize(
    "args, option",
    [
        (["runs", "list", "--limit", HUGE], "--limit"),
        (["runs", "list", "--limit", "-1"], "--limit"),
        (["tasks", "history", "weekly", "--limit", HUGE], "--limit"),
        (["tasks", "next", "weekly", "--count", "1000000000000"], "--count"),
        (["scheduler", "--once", "--limit", HUGE], "--limit"),
    ],
)
def test_a_count_out_of_range_is_a_usage_error_naming_the_option(
    tmp_path: Path, args: list[str], option: str
) -> None:
    app = App(settings=Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}"))

    result = CliRunner().invoke(cli, args, obj=app)

    assert result.exit_code == 2 and result.exception is not None
    assert isinstance(result.exception, SystemExit)
    assert f"Invalid value for '{option}'" in result.output
