"""Console sessions in the database: found by the cookie's token, timed out, ended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from service.console.sessions import (
    Timeouts,
    end_other_sessions,
    end_session,
    find_session,
    hash_token,
    same_token,
    start_session,
)
from storage.models import ConsoleSession, User

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TIMEOUTS = Timeouts(idle=timedelta(minutes=30), absolute=timedelta(hours=12))


def a_user(session) -> int:
    user = User(email_address=f"s{id(session)}@example.com", name="Sam")
    session.add(user)
    session.flush()
    return user.id


def test_a_session_is_found_by_its_token_and_only_its_hash_is_stored(sqlite_session):
    user_id = a_user(sqlite_session)
    started = start_session(sqlite_session, user_id=user_id, account_id=None, now=NOW)

    found = find_session(sqlite_session, token=started.token, now=NOW, timeouts=TIMEOUTS)

    assert found is not None and found.user_id == user_id
    stored = sqlite_session.scalars(select(ConsoleSession.token_hash)).all()
    assert started.token not in stored and hash_token(started.token) in stored
    assert started.token not in repr(started)
    assert find_session(sqlite_session, token="forged", now=NOW, timeouts=TIMEOUTS) is None


def test_an_idle_session_ends_and_a_busy_one_ends_at_the_absolute_time_out(sqlite_session):
    user_id = a_user(sqlite_session)
    idle = start_session(sqlite_session, user_id=user_id, account_id=None, now=NOW)
    busy = start_session(sqlite_session, user_id=user_id, account_id=None, now=NOW)

    # Used every 20 minutes, the busy one lives; the idle one is gone after 31 minutes
    moment = NOW
    for _ in range(30):
        moment += timedelta(minutes=20)
        if moment - NOW > TIMEOUTS.absolute:
            break
        assert find_session(sqlite_session, token=busy.token, now=moment, timeouts=TIMEOUTS)
    late = NOW + timedelta(minutes=31)
    assert find_session(sqlite_session, token=idle.token, now=late, timeouts=TIMEOUTS) is None
    after = NOW + TIMEOUTS.absolute + timedelta(minutes=1)
    assert find_session(sqlite_session, token=busy.token, now=after, timeouts=TIMEOUTS) is None


def test_sign_out_and_a_password_change_end_sessions(sqlite_session):
    user_id = a_user(sqlite_session)
    here = start_session(sqlite_session, user_id=user_id, account_id=None, now=NOW)
    there = start_session(sqlite_session, user_id=user_id, account_id=None, now=NOW)
    third = start_session(sqlite_session, user_id=user_id, account_id=None, now=NOW)

    assert end_other_sessions(sqlite_session, user_id=user_id, keep_session_id=here.session_id) == 2
    end_session(sqlite_session, token=here.token)

    for started in (here, there, third):
        assert find_session(sqlite_session, token=started.token, now=NOW, timeouts=TIMEOUTS) is None


def test_csrf_tokens_compare_exactly_and_an_absent_one_never_matches():
    assert same_token("abc", "abc")
    assert not same_token("abc", "abd")
    assert not same_token("abc", None)
    assert not same_token("", "")
