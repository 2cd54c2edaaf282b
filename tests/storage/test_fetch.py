"""fetch_rows: the rows session.execute would give, made by the caller, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import NamedTuple

import pytest
from sqlalchemy import Text, cast, literal, select, union_all
from sqlalchemy.orm import Session

from storage.fetch import fetch_rows
from storage.types import UTCDateTime

TOKYO_NOON = datetime(2026, 11, 23, 12, 0, tzinfo=timezone(timedelta(hours=9)))


class Row(NamedTuple):
    number: int
    text: str
    time: datetime


def test_when_fetched_then_rows_are_made_in_order_with_times_in_utc(session: Session) -> None:
    statement = union_all(
        *(
            select(
                literal(n).label("number"),
                cast(literal(f"row {n} 100% ' 日本"), Text).label("text"),
                literal(TOKYO_NOON + timedelta(hours=n), UTCDateTime()).label("time"),
            )
            for n in range(3)
        )
    )
    wrapped = select(statement.subquery()).where(literal(1).in_([1, 2]))  # an expanding IN

    rows = fetch_rows(session, wrapped.order_by("number"), Row._make)

    assert [row.number for row in rows] == [0, 1, 2]
    assert rows[2].text == "row 2 100% ' 日本"
    assert rows[0].time == TOKYO_NOON and rows[0].time.utcoffset() == timedelta(0)
    assert rows[0].time.replace(tzinfo=UTC) == rows[0].time


def test_given_a_naive_datetime_when_fetched_then_refused(session: Session) -> None:
    statement = select(literal(datetime(2026, 11, 23, 12, 0), UTCDateTime()))

    with pytest.raises(Exception, match="naive datetime"):  # StatementError on SQLite
        fetch_rows(session, statement, tuple)
