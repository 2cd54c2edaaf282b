"""Health, readiness and metrics endpoints: no key needed, outside the API schema."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from service.api.app import create_app
from service.config import Settings
from storage.db import make_engine
from storage.migrate import upgrade
from tests.actors.procs import REDIS_URL, redis_available
from tests.conftest import need
from tests.service.api.conftest import ApiServer


class _Client:
    """A real server on 127.0.0.1 and a plain HTTP client to it."""

    def __init__(self, tmp_path: Path, *, migrated: bool, broker_url: str = "") -> None:
        settings = Settings(data_dir=tmp_path, broker_url=broker_url)
        if migrated:
            upgrade(make_engine(settings.resolved_database_url()))
        self.server = ApiServer(create_app(settings))

    def __enter__(self) -> httpx.Client:
        self.server.__enter__()
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.server.port}", timeout=10)
        return self.http

    def __exit__(self, *_: object) -> None:
        self.http.close()
        self.server.__exit__()


def _client(tmp_path: Path, *, migrated: bool, broker_url: str = "") -> _Client:
    return _Client(tmp_path, migrated=migrated, broker_url=broker_url)


def test_liveness_answers_without_a_key(tmp_path: Path) -> None:
    with _client(tmp_path, migrated=False) as client:
        assert client.get("/healthz").json() == {"status": "ok"}


def test_readiness_needs_a_migrated_database(tmp_path: Path) -> None:
    with _client(tmp_path, migrated=False) as client:
        assert client.get("/readyz").status_code == 503
    with _client(tmp_path, migrated=True) as client:
        assert client.get("/readyz").json() == {"status": "ready"}


@pytest.mark.redis
def test_readiness_needs_the_broker_when_one_is_configured(tmp_path: Path) -> None:
    need("Redis", redis_available(), "start redis-server on 127.0.0.1:6379")
    with _client(tmp_path, migrated=True, broker_url="redis://127.0.0.1:1/0") as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert "does not answer" in response.json()["broker"]
    with _client(tmp_path, migrated=True, broker_url=REDIS_URL) as client:
        assert client.get("/readyz").json() == {"status": "ready"}


def test_metrics_are_exposed_for_prometheus_and_not_in_the_api_schema(tmp_path: Path) -> None:
    with _client(tmp_path, migrated=True) as client:
        response = client.get("/metrics")
        assert response.status_code == 200
        assert "reportd_runs_open 0.0" in response.text
        paths = client.get("/openapi.json").json()["paths"]
    assert not any(p in paths for p in ("/metrics", "/healthz", "/readyz"))
