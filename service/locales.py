"""The languages and time zones reportd speaks, and their validation."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from service.errors import InvalidInput

#: Locales with full message catalogs: the console's own two first.
SUPPORTED_LOCALES: tuple[str, ...] = (
    "en-US",
    "ja-JP",
    "zh-CN",
    "zh-TW",
    "ko-KR",
    "de-DE",
    "fr-FR",
    "es-ES",
    "pt-BR",
    "it-IT",
)

_BY_KEY = {tag.lower(): tag for tag in SUPPORTED_LOCALES}


def normalize_locale(tag: str) -> str:
    """The canonical IETF tag for ``tag`` ("ja_jp" -> "ja-JP"); unknown tags are refused."""
    key = str(tag).strip().replace("_", "-").lower()
    try:
        return _BY_KEY[key]
    except KeyError:
        supported = ", ".join(SUPPORTED_LOCALES)
        raise InvalidInput(f"unknown locale {tag!r}; supported: {supported}") from None


def validate_time_zone(name: str) -> str:
    """``name`` if it is an IANA time zone this machine knows, else InvalidInput."""
    try:
        ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"unknown time zone {name!r}") from None
    return str(name)
