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

_ALIASES = {
    "zh-hans-cn": "zh-CN",
    "zh-hans": "zh-CN",
    "zh-hant-tw": "zh-TW",
    "zh-hant": "zh-TW",
}
_BY_KEY = (
    {tag.lower(): tag for tag in SUPPORTED_LOCALES}
    | _ALIASES
    # A bare language is accepted where one supported locale has it (not "zh").
    | {tag.split("-")[0].lower(): tag for tag in SUPPORTED_LOCALES if not tag.startswith("zh")}
)


def normalize_locale(tag: str) -> str:
    """The canonical tag: ``"ja_JP"``, ``"ja-jp"``, ``"ja"`` -> ``"ja-JP"``; others refused."""
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
