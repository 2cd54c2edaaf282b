"""``reportd demo`` end to end, as a new user runs it: what lands in the outbox."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

from click.testing import CliRunner

from service.cli import App, cli
from service.config import Settings
from tests.conftest import chromium_available, need

#: The demo's three contacts and the greeting each must read, in their own language.
GREETINGS = {
    "alex.morgan@example.com": "Hello Alex Morgan,",
    "hanako.sato@example.jp": "佐藤 花子 様",
    "jonas.weber@example.de": "Hallo Jonas Weber,",
}


def test_given_a_fresh_machine_when_the_demo_runs_then_every_mail_greets_its_reader_by_name(
    tmp_path: Path,
) -> None:
    # Given a fresh data folder and outbox (the regression: mails began "Hello ," and " 様")
    need("Chromium", chromium_available(), "apt-get install chromium")
    app = App(settings=Settings(data_dir=tmp_path / "data"))
    outbox = tmp_path / "outbox"

    # When the demo runs
    result = CliRunner().invoke(
        cli, ["demo", "--outbox", str(outbox)], obj=app, catch_exceptions=False
    )

    # Then each of its three mails opens with its reader's name, in both bodies
    assert result.exit_code == 0, result.output
    mails: list[EmailMessage] = [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for path in sorted(outbox.glob("*.eml"))
    ]
    greeted = {}
    for mail in mails:
        address = mail["To"].addresses[0].addr_spec
        plain = mail.get_body(("plain",)).get_content().strip().splitlines()
        html = mail.get_body(("html",)).get_content()
        greeted[address] = plain[0]
        assert f"<p>{GREETINGS[address]}</p>" in html
    assert greeted == GREETINGS
