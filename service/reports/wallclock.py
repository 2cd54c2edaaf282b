"""What a zone's clock shows, and when it shows a given time: the wall-clock rule of report
windows and of schedules.

A wall-clock time that a spring-forward skips resolves to the first instant after the gap; one
that a fall-back shows twice resolves to its first showing (``fold=0``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def wall(moment: datetime, zone: ZoneInfo) -> datetime:
    """What the zone's clock shows at ``moment``, naive."""
    return moment.astimezone(zone).replace(tzinfo=None, fold=0)


def every_showing(clock: datetime, zone: ZoneInfo) -> list[datetime]:
    """Each instant the zone's clock shows ``clock``: none in a gap, two in a repeated hour."""
    candidates = {clock.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)}
    return sorted(moment for moment in candidates if wall(moment, zone) == clock)


def first_showing(clock: datetime, zone: ZoneInfo) -> datetime:
    """The first instant the zone's clock shows ``clock`` or later (UTC)."""
    first = clock.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if wall(first, zone) == clock:
        return first  # exists; fold=0 is the first showing of a repeated time
    # In a gap fold=0 reads ``clock`` with the offset before the jump (an instant after the
    # gap), fold=1 with the offset after it (an instant before): the jump lies between, to the
    # second.
    before = int(clock.replace(tzinfo=zone, fold=1).timestamp())
    after = int(first.timestamp())
    while after - before > 1:
        middle = (before + after) // 2
        if wall(datetime.fromtimestamp(middle, UTC), zone) >= clock:
            after = middle
        else:
            before = middle
    return datetime.fromtimestamp(after, UTC)
