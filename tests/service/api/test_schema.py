"""Schemathesis over the whole OpenAPI document with a valid key: no 5xx, answers as documented.

Bounded on purpose (a few examples per operation, a few hundred requests in all); the world is
this module's own, since the generated requests create and delete things at random.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from tests.service.api.conftest import ApiServer, make_api_world

#: Examples per operation: 27 operations, so a few hundred requests with the explicit ones.
MAX_EXAMPLES = 5
#: The checks that hold for any request: documented status, content type and body, no 5xx.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


@pytest.fixture(scope="module")
def schema_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    _, _, a, _, app = make_api_world(Path(tmp_path_factory.mktemp("schema")))
    with ApiServer(app) as server:
        yield f"http://127.0.0.1:{server.port}", a.secrets["Full Access"]


@pytest.fixture(scope="module")
def api_schema(schema_server: tuple[str, str]) -> schemathesis.BaseSchema:
    root, _ = schema_server
    return schemathesis.openapi.from_url(f"{root}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_answers_as_documented(
    case: schemathesis.Case[Any], schema_server: tuple[str, str]
) -> None:
    root, secret = schema_server
    response = case.call_and_validate(
        base_url=root,
        headers={"api-secret-key": secret, "api-version": "v1"},
        checks=CHECKS,
    )
    assert response.status_code < 500  # also checked above; stated for the reader
