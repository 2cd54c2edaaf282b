"""The SDK's ``SearchFilter``: criteria on a field of the objects' JSON, all of which must hold.

Applied to objects the caller may already see (the scoped list), so a search can only narrow.
Supported tests: ``stringTest`` (``%`` and ``_`` wildcards unless ``stringWildcards`` is
false, at most ``MAX_PATTERN`` characters, matched in time bounded by the value's length times
the pattern's: :class:`Wildcard`), ``numericTest``, ``booleanTest``, ``idTest``, ``nullTest``,
``choiceTest`` and the date range (``firstDateValue``/``lastDateValue``, epoch milliseconds).
String comparison ignores case, as the console's does.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.errors import InvalidInput
from service.fields import SearchID

#: Most objects one search answers when ``maxItems`` is not given.
DEFAULT_MAX_ITEMS = 5000
#: Longest ``stringValue``: longer than any name reportd stores, short enough that a
#: wildcard match stays cheap (``Wildcard``).
MAX_PATTERN = 1000

Comparison = Literal[
    "less-than", "less-than-or-equal", "equal", "greater-than-or-equal", "greater-than", "not-equal"
]
Equality = Literal["equal", "not-equal"]

COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "less-than": operator.lt,
    "less-than-or-equal": operator.le,
    "equal": operator.eq,
    "greater-than-or-equal": operator.ge,
    "greater-than": operator.gt,
    "not-equal": operator.ne,
}


class SearchCriteria(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fieldName: str | None = None
    booleanTest: bool | None = None
    numericTest: Comparison | None = None
    numericValue: float | None = None
    stringTest: Equality | None = None
    stringValue: str | None = Field(None, max_length=MAX_PATTERN)
    stringWildcards: bool | None = None
    choiceTest: Equality | None = None
    choiceValue: str | None = None
    firstDateValue: int | None = None
    firstDateInclusive: bool | None = None
    lastDateValue: int | None = None
    lastDateInclusive: bool | None = None
    nullTest: bool | None = None
    versionTest: Comparison | None = None
    versionValue: str | None = None
    idValue: SearchID | None = None
    idTest: Comparison | None = None


class SearchFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    maxItems: int | None = Field(None, ge=0)
    searchCriteria: list[SearchCriteria] | None = None
    sortByObjectID: bool | None = None


class Wildcard:
    """A ``LIKE`` pattern (``%`` any run of characters, ``_`` one; case ignored) matched
    without backtracking across ``%``.

    A regular expression with a ``.*`` per ``%`` backtracks: ``%a%a%a%a%b`` against 110 ``a``
    took a second, and grew with the name's length to the power of the ``%``s, holding the GIL
    (and ``/healthz``) meanwhile. Here the pattern is cut at each ``%`` into pieces holding
    only characters and ``_``: the first must start the value, the last end it, and each one
    between is found leftmost after the one before (taking the leftmost never loses a match).
    Each piece is searched once, so a match costs at most the value's length times the
    pattern's, and the pattern is at most ``MAX_PATTERN`` characters.
    """

    def __init__(self, pattern: str, *, wildcards: bool = True) -> None:
        pieces = pattern.split("%") if wildcards else [pattern]
        self._pieces = [_piece(text, wildcards=wildcards) for text in pieces]
        self._lengths = [len(text) for text in pieces]

    def matches(self, value: str) -> bool:
        pieces, lengths = self._pieces, self._lengths
        if len(pieces) == 1:
            return pieces[0].fullmatch(value) is not None
        end = len(value) - lengths[-1]
        if end < lengths[0] or pieces[0].match(value) is None:
            return False
        if pieces[-1].fullmatch(value, end) is None:
            return False
        position = lengths[0]
        for piece, length in zip(pieces[1:-1], lengths[1:-1], strict=True):
            if not length:
                continue
            found = piece.search(value, position, end)
            if found is None:
                return False
            position = found.end()
        return True


def _piece(text: str, *, wildcards: bool) -> re.Pattern[str]:
    """Characters and (with ``wildcards``) ``_`` for any one: no repetition, no backtracking."""
    parts = ("." if wildcards and ch == "_" else re.escape(ch) for ch in text)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


@lru_cache(maxsize=64)
def _wildcard(pattern: str, wildcards: bool) -> Wildcard:
    return Wildcard(pattern, wildcards=wildcards)


def _matches_string(value: Any, c: SearchCriteria) -> bool:
    if not isinstance(value, str):
        return False
    found = _wildcard(c.stringValue or "", c.stringWildcards is not False).matches(value)
    return found if (c.stringTest or "equal") == "equal" else not found


def _matches_number(value: Any, test: str, wanted: float) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return COMPARE[test](value, wanted)


def _matches_dates(value: Any, c: SearchCriteria) -> bool:
    if isinstance(value, bool) or not isinstance(value, int):
        return False
    if c.firstDateValue is not None:
        first_ok = (
            value >= c.firstDateValue
            if c.firstDateInclusive is not False
            else (value > c.firstDateValue)
        )
        if not first_ok:
            return False
    if c.lastDateValue is not None:
        if c.lastDateInclusive is not False:
            return value <= c.lastDateValue
        return value < c.lastDateValue
    return True


def _matches(obj: dict[str, Any], c: SearchCriteria) -> bool:  # noqa: C901 - one branch per test
    if not c.fieldName:
        raise InvalidInput("searchCriteria.fieldName: required")
    if c.idTest is not None or c.idValue is not None:
        return _matches_number(obj.get("ID"), c.idTest or "equal", float(c.idValue or 0))
    value = obj.get(c.fieldName)
    if c.nullTest is not None:
        return (value is None) == c.nullTest
    if c.stringValue is not None or c.stringTest is not None:
        return _matches_string(value, c)
    if c.numericValue is not None or c.numericTest is not None:
        if c.numericValue is None:
            raise InvalidInput("searchCriteria.numericValue: required with numericTest")
        return _matches_number(value, c.numericTest or "equal", c.numericValue)
    if c.booleanTest is not None:
        return value is c.booleanTest
    if c.choiceValue is not None or c.choiceTest is not None:
        same = str(value) == (c.choiceValue or "")
        return same if (c.choiceTest or "equal") == "equal" else not same
    if c.firstDateValue is not None or c.lastDateValue is not None:
        return _matches_dates(value, c)
    raise InvalidInput(f"searchCriteria ({c.fieldName}): give a test and a value")


def search(
    objects: Iterable[dict[str, Any]], search_filter: SearchFilter | None
) -> list[dict[str, Any]]:
    """The objects matching every criterion, by ID when asked, at most ``maxItems``."""
    found = list(objects)
    if search_filter is None:
        return found[:DEFAULT_MAX_ITEMS]
    for criteria in search_filter.searchCriteria or []:
        found = [obj for obj in found if _matches(obj, criteria)]
    if search_filter.sortByObjectID:
        found.sort(key=lambda obj: int(obj.get("ID") or 0))
    limit = DEFAULT_MAX_ITEMS if search_filter.maxItems is None else search_filter.maxItems
    return found[:limit]
