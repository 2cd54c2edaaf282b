"""The CLI side of the API: keys made with ``reportd apikeys``, contact changes audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from service.api.keys import authenticate
from service.cli import App, cli
from service.config import Settings
from service.directory.sample import sample_dataset
from storage.models import SystemEvent


@pytest.fixture
def app(tmp_path: Path) -> App:
    app = App(settings=Settings(data_dir=tmp_path / "data"))
    assert run(app, "db", "upgrade").exit_code == 0
    assert run(app, "accounts", "create", "Demo Corp").exit_code == 0
    sample = tmp_path / "sample.json"
    sample.write_text(json.dumps(sample_dataset(now=datetime.now(UTC), events_per_day=2)))
    assert run(app, "import", str(sample)).exit_code == 0
    return app


def run(app: App, *args: str):
    return CliRunner().invoke(cli, list(args), obj=app, catch_exceptions=False)


def test_apikeys_create_prints_the_secret_once_and_it_authenticates(app: App) -> None:
    result = run(app, "apikeys", "create", "--role", "Auditor", "--name", "ci")
    secret = result.output.strip().splitlines()[-1]
    listed = run(app, "apikeys", "list")

    assert result.exit_code == 0 and "shown once" in result.output
    assert "ci" in listed.output and secret not in listed.output
    with app.sessions() as session:
        assert authenticate(session, secret, now=datetime.now(UTC)).key_name == "ci"


def test_apikeys_create_refuses_a_role_without_api_access(app: App) -> None:
    result = CliRunner().invoke(
        cli, ["apikeys", "create", "--role", "Auditor (computers only)", "--name", "x"], obj=app
    )
    assert result.exit_code == 1 and "web service API" in result.output


def test_contact_changes_from_the_cli_are_audited(app: App) -> None:
    run(app, "contacts", "add", "--name", "Kim", "--email", "kim@example.com", "--role", "Auditor")
    run(app, "contacts", "edit", "Kim", "--description", "night shift")
    run(app, "contacts", "delete", "Kim", "--yes")
    with app.sessions() as session:
        events = session.scalars(
            select(SystemEvent).where(SystemEvent.event_code >= 8000).order_by(SystemEvent.id)
        ).all()
    assert [e.name for e in events] == ["Contact Created", "Contact Updated", "Contact Deleted"]
    assert all(e.actor.startswith("cli:") for e in events)
    assert "'night shift'" in events[1].description
