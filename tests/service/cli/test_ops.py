"""Operator-facing pieces: the example environment file and ``reportd check``."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner
from pydantic import SecretStr

from service.cli import App, cli
from service.config import Settings
from service.delivery.smtp_sink import SmtpSink
from storage.db import make_engine
from storage.migrate import upgrade

ROOT = Path(__file__).parents[3]


def test_the_example_environment_file_lists_every_setting() -> None:
    text = (ROOT / "ops" / "reportd.env.example").read_text()
    listed = set(re.findall(r"^REPORTD_([A-Z_]+)=", text, flags=re.MULTILINE))
    assert listed == {name.upper() for name in Settings.model_fields}


def test_check_says_plainly_what_is_wrong_and_exits_1(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, smtp_port=1)  # nothing listens on port 1
    result = CliRunner().invoke(cli, ["check"], obj=App(settings=settings))
    assert result.exit_code == 1
    assert "reportd db upgrade" in result.output
    assert "cannot talk to the SMTP server at 127.0.0.1:1" in result.output


def test_check_passes_on_a_working_configuration(tmp_path: Path) -> None:
    with SmtpSink(tmp_path / "outbox") as sink:
        settings = Settings(data_dir=tmp_path, smtp_port=sink.port)
        upgrade(make_engine(settings.resolved_database_url()))
        result = CliRunner().invoke(cli, ["check"], obj=App(settings=settings))
    assert result.exit_code == 0, result.output
    assert result.output.count("ok ") == 5
    # The development secret key works, and is said to be one
    assert "WARNING secret" in result.output and "REPORTD_SECRET_KEY is unset" in result.output


def _with_a_protected_contact(settings: Settings, key: str) -> None:
    """The sample account imported with ``key`` sealing its contacts' report passwords."""
    import json

    from service.directory.accounts import create_account
    from service.directory.importing import import_dataset, parse_dataset
    from service.directory.sample import sample_dataset
    from service.directory.secretbox import SecretBox
    from storage.db import make_session_factory, transaction

    engine = make_engine(settings.resolved_database_url())
    upgrade(engine)
    with transaction(make_session_factory(engine)) as session:
        account = create_account(session, name="Sealed")
        data = parse_dataset(json.dumps(sample_dataset(now=datetime.now(UTC))))
        import_dataset(session, account_id=account.id, dataset=data, box=SecretBox(key))
    engine.dispose()


def test_check_fails_when_the_secret_key_cannot_open_the_stored_report_passwords(
    tmp_path: Path,
) -> None:
    # Given report passwords sealed with one key, and reportd configured with another
    sealed_with = Settings(data_dir=tmp_path, secret_key="the-key-that-sealed")
    _with_a_protected_contact(sealed_with, "the-key-that-sealed")
    other = sealed_with.model_copy(update={"secret_key": SecretStr("another-key")})

    # When reportd check runs with each
    wrong = CliRunner().invoke(cli, ["check"], obj=App(settings=other))
    right = CliRunner().invoke(cli, ["check"], obj=App(settings=sealed_with))

    # Then the wrong key is a problem (exit 1) naming the account, the right one is ok
    assert wrong.exit_code == 1
    assert "PROBLEM secret" in wrong.output and "account 'Sealed'" in wrong.output
    assert "ok      secret    opens the stored report passwords (1 tried)" in right.output


def test_log_records_of_a_delivery_are_json_lines_with_its_ids() -> None:
    import json
    import logging

    from service.runtime.logs import JsonFormatter, delivery_context

    record = logging.LogRecord("reportd", logging.INFO, __file__, 1, "sent %s", ("x",), None)
    with delivery_context(delivery_id=42, run_id=7):
        line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert (entry["message"], entry["delivery_id"], entry["run_id"]) == ("sent x", 42, 7)
    assert "delivery_id" not in json.loads(JsonFormatter().format(record))
