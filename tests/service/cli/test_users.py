"""``reportd users`` and the dataset's users, run as an operator would (click's runner)."""

from __future__ import annotations

import email
import email.policy
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from service.cli import App, cli
from service.config import Settings
from service.delivery.smtp_sink import SmtpSink
from service.directory.sample import sample_dataset
from service.directory.signin import SignedIn, authenticate
from service.directory.user_tokens import redeem_set_password
from storage.models import Membership, SystemEvent, User

PASSWORD = "violet-harbour-lantern-7"
REPORT_PASSWORD = "mias-report-password"


@pytest.fixture
def app(tmp_path: Path) -> App:
    return App(settings=Settings(data_dir=tmp_path / "data"))


def run(app: App, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), obj=app, input=input, catch_exceptions=False)


@pytest.fixture
def loaded(app: App, tmp_path: Path) -> App:
    assert run(app, "db", "upgrade").exit_code == 0
    assert run(app, "accounts", "create", "Demo Corp").exit_code == 0
    sample = tmp_path / "sample.json"
    sample.write_text(json.dumps(sample_dataset(now=datetime.now(UTC))))
    assert run(app, "import", str(sample)).exit_code == 0
    return app


def token_of(output: str) -> str:
    lines = output.splitlines()
    return lines[lines.index(next(ln for ln in lines if "set-password token" in ln)) + 1].strip()


def test_users_add_prints_a_token_that_sets_the_password_once(loaded: App) -> None:
    # Given a user added by the operator (no SMTP configured: the token is printed only)
    added = run(
        loaded,
        "users", "add", "--email", "mia@example.ch", "--name", "Mia Keller",
        "--role", "Web Team", "--locale", "de-DE", "--time-zone", "Europe/Zurich",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "mailed" not in added.output
    token = token_of(added.output)
    # When the user sets a password with the token
    with loaded.transaction() as session:
        redeem_set_password(session, token=token, password=PASSWORD, now=datetime.now(UTC))
    # Then they sign in, with the role of this account
    with loaded.transaction() as session:
        result = authenticate(
            session, "mia@example.ch", PASSWORD, now=datetime.now(UTC), box=loaded.box
        )
    assert isinstance(result, SignedIn) and len(result.accounts) == 1
    listed = run(loaded, "users", "list")
    assert "Mia Keller  <mia@example.ch>  Web Team" in listed.output
    assert "no password yet" not in listed.output


def test_no_password_or_hash_in_the_cli_output_the_export_or_the_logs(
    loaded: App, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    outputs = [
        run(
            loaded,
            "users", "add", "--email", "mia@example.ch", "--name", "Mia Keller",
            "--role", "Auditor", "--password-protected", "--report-password",
            input=f"{REPORT_PASSWORD}\n{REPORT_PASSWORD}\n",
        ),
        run(loaded, "users", "passwd", "mia@example.ch", "--password-stdin", input=PASSWORD + "\n"),
        run(loaded, "users", "passwd", "mia@example.ch", input=f"{PASSWORD}x\n{PASSWORD}x\n"),
        run(loaded, "users", "list"),
        run(loaded, "users", "show", "mia@example.ch"),
        run(loaded, "users", "edit", "mia@example.ch", "--description", "on call", "--unlock"),
    ]  # fmt: skip
    for result in outputs:
        assert result.exit_code == 0, result.output
    export_file = tmp_path / "export.json"
    assert run(loaded, "export", "-o", str(export_file)).exit_code == 0
    exported = json.loads(export_file.read_text())
    with loaded.sessions() as session:
        user = session.scalars(select(User).where(User.email_address == "mia@example.ch")).one()
        stored_hash = user.password_hash
        trail = " ".join(session.scalars(select(SystemEvent.description)))
    assert stored_hash is not None and stored_hash.startswith("$argon2id$")
    # The exported user has the account's view of them and nothing secret
    [mia] = [u for u in exported["users"] if u["emailAddress"] == "mia@example.ch"]
    assert mia["fullName"] == "Mia Keller" and mia["reportPDFPasswordEnabled"] is True
    assert set(mia) & {"password", "reportPDFPassword", "passwordHash", "mfaType"} == set()
    everything = "".join(r.output for r in outputs) + export_file.read_text() + caplog.text + trail
    for secret in (PASSWORD, PASSWORD + "x", REPORT_PASSWORD, stored_hash, "$argon2"):
        assert secret not in everything, secret
    # The prompts did not echo, and the trail says a password changed, not which
    assert "User Password Changed" in " ".join(n for n in _names(loaded) if n.startswith("User"))


def _names(app: App) -> list[str]:
    with app.sessions() as session:
        return list(session.scalars(select(SystemEvent.name).order_by(SystemEvent.id)))


def test_a_weak_password_is_refused_with_the_rule_and_nothing_changes(loaded: App) -> None:
    run(loaded, "users", "add", "--email", "kim@example.com", "--name", "Kim", "--role", "Auditor")
    refused = run(loaded, "users", "passwd", "kim@example.com", "--password-stdin",
                  input="password1234\n")  # fmt: skip
    assert refused.exit_code == 1 and "commonly used" in refused.output
    assert "password1234" not in refused.output
    with loaded.sessions() as session:
        user = session.scalars(select(User).where(User.email_address == "kim@example.com")).one()
        assert user.password_hash is None


def test_invite_adds_an_existing_user_to_another_account_with_its_own_role(loaded: App) -> None:
    run(loaded, "users", "add", "--email", "mia@example.ch", "--name", "Mia", "--role", "Auditor")
    run(loaded, "users", "passwd", "mia@example.ch", "--password-stdin", input=PASSWORD + "\n")
    assert run(loaded, "accounts", "create", "Second").exit_code == 0
    invited = run(loaded, "--account", "Second", "users", "invite", "MIA@example.ch",
                  "--role", "Full Access")  # fmt: skip
    assert invited.exit_code == 0, invited.output
    assert "existing user" in invited.output and "set-password token" not in invited.output
    with loaded.sessions() as session:
        roles = session.execute(
            select(Membership.account_id, Membership.role_id).join(
                User, User.id == Membership.user_id
            )
        ).all()
    assert len(roles) == 2 and len({role for _, role in roles}) == 2
    # Removing them from one account keeps the user; from the last one deletes them
    run(loaded, "--account", "Second", "users", "remove", "mia@example.ch", "--yes")
    gone = run(loaded, "--account", "Demo Corp", "users", "remove", "mia@example.ch", "--yes")
    assert "user deleted" in gone.output
    with loaded.sessions() as session:
        assert session.scalars(select(User)).all() == []


def test_an_exported_account_with_users_imports_into_another(loaded: App, tmp_path: Path) -> None:
    run(loaded, "users", "add", "--email", "mia@example.ch", "--name", "Mia", "--role", "Web Team",
        "--read-only")  # fmt: skip
    export_file = tmp_path / "export.json"
    run(loaded, "export", "-o", str(export_file))
    data = json.loads(export_file.read_text())
    for contact in data["contacts"]:  # report passwords are entered again (write-only)
        if contact["reportPDFPasswordEnabled"]:
            contact["reportPDFPassword"] = "entered-again-2026"
    export_file.write_text(json.dumps(data))
    assert run(loaded, "accounts", "create", "Copy").exit_code == 0
    imported = run(loaded, "--account", "Copy", "import", str(export_file))
    assert imported.exit_code == 0, imported.output
    assert "1 users" in imported.output
    listed = run(loaded, "--account", "Copy", "users", "list")
    assert "Mia  <mia@example.ch>  Web Team  [read-only, no password yet]" in listed.output


def test_tasks_add_takes_users_by_address_and_all(loaded: App) -> None:
    run(loaded, "users", "add", "--email", "mia@example.ch", "--name", "Mia", "--role", "Auditor")
    added = run(loaded, "tasks", "add", "--name", "Weekly", "--daily", "02:30", "--all",
                "--user", "mia@example.ch")  # fmt: skip
    assert added.exit_code == 0, added.output
    shown = json.loads(run(loaded, "tasks", "show", "Weekly").output)
    recipients = shown["generateReportTaskParameters"]["recipients"]
    assert recipients["allAdministratorsAndContacts"] is True
    with loaded.sessions() as session:
        mia = session.scalars(select(User.id)).one()
    assert recipients["administratorIDs"] == [mia]


def test_with_smtp_configured_the_token_is_mailed_and_works(tmp_path: Path) -> None:
    # Given reportd with SMTP configured (a real SMTP server: the aiosmtpd sink)
    with SmtpSink(tmp_path / "outbox") as sink:
        app = App(
            settings=Settings(
                data_dir=tmp_path / "data",
                smtp_host="127.0.0.1",
                smtp_port=sink.port,
                console_url="https://console.example.com/",
            )
        )
        run(app, "db", "upgrade")
        run(app, "accounts", "create", "Mail Corp")
        # When a user is added
        added = run(app, "users", "add", "--email", "ren@example.jp", "--name", "Ren Ito",
                    "--role", "Auditor", "--time-zone", "Asia/Tokyo")  # fmt: skip
        assert added.exit_code == 0, added.output
        assert "mailed to ren@example.jp" in added.output
        [path] = sorted(sink.directory.glob("*.eml"))
    mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    # Then the mail goes to the user, links to the console with the printed token, says when
    # it expires in the user's zone, and the token sets the password
    token = token_of(added.output)
    body = mail.get_body().get_content()  # type: ignore[union-attr]
    assert mail["To"].addresses[0].addr_spec == "ren@example.jp"
    assert "Mail Corp" in mail["Subject"]
    assert f"https://console.example.com/set-password?token={token}" in body
    assert "(Asia/Tokyo)" in body
    with app.transaction() as session:
        redeem_set_password(session, token=token, password=PASSWORD, now=datetime.now(UTC))


def test_the_set_password_mail_is_in_the_users_language_and_clock(tmp_path: Path) -> None:
    # Given reportd with SMTP configured
    with SmtpSink(tmp_path / "outbox") as sink:
        app = App(
            settings=Settings(
                data_dir=tmp_path / "data",
                smtp_host="127.0.0.1",
                smtp_port=sink.port,
                console_url="https://console.example.com/",
            )
        )
        run(app, "db", "upgrade")
        run(app, "accounts", "create", "Mail Corp")
        # When a German-speaking user in Berlin is added
        added = run(app, "users", "add", "--email", "jonas@example.de", "--name", "Jonas Weber",
                    "--role", "Auditor", "--locale", "de-DE",
                    "--time-zone", "Europe/Berlin")  # fmt: skip
        assert added.exit_code == 0, added.output
        [path] = sorted(sink.directory.glob("*.eml"))
    mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    body = mail.get_body().get_content()  # type: ignore[union-attr]
    token = token_of(added.output)
    # Then subject and body are German, the greeting the reports' German one, the link intact
    # and the expiry written the German way on Berlin's clock
    assert mail["Subject"] == "reportd: Wählen Sie Ihr Passwort für Mail Corp"
    assert body.startswith("Hallo Jonas Weber,")
    assert "Öffnen Sie diesen Link, um Ihr Passwort zu wählen:" in body
    assert f"  https://console.example.com/set-password?token={token}\r\n" in body
    assert "(Europe/Berlin)" in body and "Er funktioniert einmal, bis " in body
    assert "Open this link" not in body and "choose your password" not in body


@pytest.mark.parametrize("locale", ["de-DE", "es-ES", "fr-FR", "it-IT", "ja-JP", "ko-KR",
                                    "pt-BR", "zh-CN", "zh-TW"])  # fmt: skip
def test_every_report_locale_translates_the_set_password_mail(locale: str) -> None:
    from service.reports.rendering import render_invitation

    english = render_invitation(
        "en-US", name="Kim", email_address="kim@example.com", account_name="Acme",
        link="", token="TOKEN-123", expires=datetime(2030, 1, 2, 3, 4, tzinfo=UTC), zone="UTC",
    )  # fmt: skip
    mail = render_invitation(
        locale, name="Kim", email_address="kim@example.com", account_name="Acme",
        link="", token="TOKEN-123", expires=datetime(2030, 1, 2, 3, 4, tzinfo=UTC), zone="UTC",
    )  # fmt: skip
    # No English line is left but the token's, and the facts are all there
    english_lines = {ln.strip() for ln in english.text_body.splitlines() if ln.strip()}
    lines = {ln.strip() for ln in mail.text_body.splitlines() if ln.strip()}
    assert english_lines & lines == {"TOKEN-123"}
    assert mail.subject != english.subject and "Acme" in mail.subject
    assert "kim@example.com" in mail.text_body and "UTC" in mail.text_body
    assert "2030" in mail.text_body
