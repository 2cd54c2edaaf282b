"""The scheduler's and the reconciler's loops wait out a database or broker outage; a single
pass (``--once``, ``reconcile`` without ``--loop``) still fails, so a script sees the error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import redis.exceptions
from click.testing import CliRunner, Result
from sqlalchemy.exc import OperationalError

from service.cli import App, cli
from service.config import Settings
from service.scheduling import loops


class Enough(Exception):
    """Ends a loop under test once it has shown what it does."""


def reportd(app: App, *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), obj=app)


@pytest.fixture
def app(tmp_path: Path) -> App:
    app = App(settings=Settings(data_dir=tmp_path / "data"))
    assert reportd(app, "db", "upgrade").exit_code == 0
    return app


def flaky(*outages: BaseException) -> Any:
    """A stand-in that raises each outage in turn, then really runs, then ends the loop."""
    calls: list[int] = []

    def stand_in(real: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) <= len(outages):
            raise outages[len(calls) - 1]
        if len(calls) == len(outages) + 1:
            return real(*args, **kwargs)
        raise Enough

    return stand_in


DATABASE_GONE = OperationalError("SELECT 1", {}, Exception("server closed the connection"))
REDIS_GONE = redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379")


def test_the_reconcile_loop_goes_on_after_the_database_and_redis_went_away(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    stand_in = flaky(DATABASE_GONE, REDIS_GONE)
    real = loops.find_lost_work
    monkeypatch.setattr(loops, "find_lost_work", lambda *a, **k: stand_in(real, *a, **k))

    result = reportd(app, "reconcile", "--loop", "--interval", "0")

    assert isinstance(result.exception, Enough)
    assert "outage: OperationalError" in result.output
    assert "outage: ConnectionError" in result.output
    assert "re-enqueued 0 deliveries" in result.output


def test_one_reconcile_pass_fails_on_an_outage(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    stand_in = flaky(DATABASE_GONE)
    real = loops.find_lost_work
    monkeypatch.setattr(loops, "find_lost_work", lambda *a, **k: stand_in(real, *a, **k))

    result = reportd(app, "reconcile")

    assert isinstance(result.exception, OperationalError)


def test_the_scheduler_goes_on_after_the_database_went_away(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    stand_in = flaky(DATABASE_GONE)
    real = loops.fire_due
    monkeypatch.setattr(loops, "fire_due", lambda *a, **k: stand_in(real, *a, **k))

    result = reportd(app, "scheduler", "--interval", "0")

    assert isinstance(result.exception, Enough)
    assert "outage: OperationalError" in result.output


def test_a_single_scheduler_pass_fails_on_an_outage(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    stand_in = flaky(DATABASE_GONE)
    real = loops.fire_due
    monkeypatch.setattr(loops, "fire_due", lambda *a, **k: stand_in(real, *a, **k))

    result = reportd(app, "scheduler", "--once")

    assert isinstance(result.exception, OperationalError)
