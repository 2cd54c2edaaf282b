"""Search wildcards (``%``, ``_``) match as SQL's LIKE does, ignoring case, in time bounded by
the value's length times the pattern's: a hostile pattern no longer stalls the API."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.api.search import MAX_PATTERN, Wildcard
from service.directory.contacts import add_contact
from service.directory.secretbox import SecretBox
from storage.db import transaction
from storage.models import Contact
from tests.service.api.conftest import SECRET, ApiWorld

#: The pattern of the report, and a name long enough that the backtracking matcher took
#: 16 s over it (0.9 s at the report's 110 characters).
HOSTILE = "%a%a%a%a%b"
LONG_NAME = "a" * 200
#: A bound no linear match comes near, and the backtracking one exceeded by far at 200
#: characters (16 s).
GENEROUS = 5.0


def backtracking(pattern: str, value: str, wildcards: bool = True) -> bool:
    """The matcher this replaced: a regular expression with ``.*`` per ``%``, for reference."""
    if not wildcards:
        return re.fullmatch(re.escape(pattern), value, re.IGNORECASE | re.DOTALL) is not None
    parts = ["." if ch == "_" else ".*" if ch == "%" else re.escape(ch) for ch in pattern]
    return re.fullmatch("".join(parts), value, re.IGNORECASE | re.DOTALL) is not None


@given(
    pattern=st.text(alphabet="aAb_%\\.", max_size=8),
    value=st.text(alphabet="aAbB_%\\.\n", max_size=10),
    wildcards=st.booleans(),
)
def test_the_wildcard_matcher_agrees_with_like_semantics(
    pattern: str, value: str, wildcards: bool
) -> None:
    assert Wildcard(pattern, wildcards=wildcards).matches(value) == backtracking(
        pattern, value, wildcards
    )


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("Mina%", "mina sato", True),
        ("%sato", "Mina Sato", True),
        ("m_na%", "Mina", True),
        ("100%", "100% sure", True),
        ("a.b", "axb", False),  # a regex character is a character
        ("%a%a%a%a%b", "a" * 110, False),
        ("%a%a%a%a%b", "a" * 110 + "b", True),
        ("%%", "", True),
        ("_", "", False),
    ],
)
def test_patterns_match_as_the_sdk_describes(pattern: str, value: str, expected: bool) -> None:
    assert Wildcard(pattern).matches(value) is expected


@pytest.fixture
def hostile_contact(api_world: ApiWorld) -> Iterator[int]:
    with transaction(api_world.sessions) as session:
        role_id = next(iter(api_world.a.roles.values()))
        contact = add_contact(
            session,
            account_id=api_world.a.account_id,
            box=SecretBox(SECRET),
            name=LONG_NAME,
            email_address="aaa@example.com",
            role_id=role_id,
        )
    yield contact.id
    with transaction(api_world.sessions) as session:
        found = session.get(Contact, contact.id)
        if found is not None:
            session.delete(found)


def test_a_hostile_pattern_answers_at_once_and_healthz_is_not_held_up(
    api_world: ApiWorld, hostile_contact: int
) -> None:
    # Given a contact named 200 times "a", and /healthz polled meanwhile
    health: list[float] = []
    stop = threading.Event()

    def poll() -> None:
        with httpx.Client(base_url=api_world.server.base, timeout=30) as client:
            while not stop.is_set():
                started = time.monotonic()
                client.get("/healthz")
                health.append(time.monotonic() - started)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        with api_world.http("Full Access") as http:
            # When the contacts are searched with a pattern that made the old matcher
            # backtrack, and then with one that matches the name
            started = time.monotonic()
            nothing = http.post(
                "/contacts/search",
                json={"searchCriteria": [{"fieldName": "name", "stringValue": HOSTILE}]},
            )
            elapsed = time.monotonic() - started
            found = http.post(
                "/contacts/search",
                json={"searchCriteria": [{"fieldName": "name", "stringValue": "%a%a%a%a%a"}]},
            )
    finally:
        stop.set()
        poller.join()

    # Then both answer correctly, well within a generous bound, and /healthz kept answering
    assert nothing.status_code == 200 and nothing.json()["contacts"] == []
    assert [c["ID"] for c in found.json()["contacts"]] == [hostile_contact]
    assert elapsed < GENEROUS
    assert health and max(health) < GENEROUS


def test_a_pattern_longer_than_the_limit_is_refused_naming_the_field(
    api_world: ApiWorld,
) -> None:
    with api_world.http("Full Access") as http:
        answer = http.post(
            "/contacts/search",
            json={
                "searchCriteria": [{"fieldName": "name", "stringValue": "%" * (MAX_PATTERN + 1)}]
            },
        )
    assert answer.status_code == 400
    assert "stringValue" in answer.text
