"""The SDK's ``SearchFilter``: criteria on a field of the objects' JSON, all of which must hold.

Applied to objects the caller may already see (the scoped list), so a search can only narrow.
Supported tests: ``stringTest`` (``%`` and ``_`` wildcards unless ``stringWildcards`` is
false), ``numericTest``, ``booleanTest``, ``idTest``, ``nullTest``, ``choiceTest`` and the date
range (``firstDateValue``/``lastDateValue``, epoch milliseconds). String comparison ignores
case, as the console's does.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.errors import InvalidInput
from service.fields import SearchID

#: Most objects one search answers when ``maxItems`` is not given.
DEFAULT_MAX_ITEMS = 5000

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
    stringValue: str | None = None
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


def _like(pattern: str, wildcards: bool) -> re.Pattern[str]:
    if not wildcards:
        return re.compile(re.escape(pattern), re.IGNORECASE | re.DOTALL)
    parts = ["." if ch == "_" else ".*" if ch == "%" else re.escape(ch) for ch in pattern]
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _matches_string(value: Any, c: SearchCriteria) -> bool:
    if not isinstance(value, str):
        return False
    found = _like(c.stringValue or "", c.stringWildcards is not False).fullmatch(value) is not None
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
