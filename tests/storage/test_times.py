"""Times go in aware and come back aware UTC, on both backends, whatever zone they were in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import literal, select
from sqlalchemy.orm import Session

from storage.types import UTCDateTime

TOKYO_NOON = datetime(2026, 11, 23, 12, 0, tzinfo=timezone(timedelta(hours=9)))


def test_an_aware_time_comes_back_as_the_same_instant_in_utc(session: Session) -> None:
    back = session.scalar(select(literal(TOKYO_NOON, UTCDateTime())))

    assert back == TOKYO_NOON
    assert back is not None and back.tzinfo is UTC
    assert back.hour == 3


def test_a_naive_time_is_refused(session: Session) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        session.scalar(select(literal(datetime(2026, 11, 23, 12, 0), UTCDateTime())))
