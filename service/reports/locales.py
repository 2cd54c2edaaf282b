"""The languages and time zones reportd speaks, and their validation."""

from __future__ import annotations

from service.errors import InvalidInput
from service.fields import TimeZone, check

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
    """``name`` if it is an IANA time zone of ``service.fields``' rule, else InvalidInput."""
    return str(check(TimeZone, name, "timeZone"))


#: The locales the console's own API (and its SDK) reads: anything else is shown as en-US.
SDK_LOCALES: tuple[str, ...] = ("en-US", "ja-JP")
#: reportd's own field beside ``locale`` that carries the full language (the SDK ignores it).
REPORTD_LOCALE_FIELD = "reportdLocale"


def sdk_locale(stored: str) -> str:
    """What ``locale`` says to the SDK for a stored language: ja-JP for Japanese, else en-US."""
    return "ja-JP" if stored == "ja-JP" else "en-US"


def locale_fields(stored: str) -> dict[str, str]:
    """The API's two locale fields for a stored language."""
    return {"locale": sdk_locale(stored), REPORTD_LOCALE_FIELD: stored}


def chosen_locale(
    stored: str | None, *, locale: str | None, reportd_locale: str | None
) -> str | None:
    """The language to store from a body's ``locale`` and ``reportdLocale`` (None: unchanged).

    ``reportdLocale``, when given, wins. A ``locale`` that is the SDK's view of the stored
    language keeps the stored language (an SDK client that read ``en-US`` for a ``de-DE``
    contact and sends it back changes nothing); any other ``locale`` sets the language.
    One rule for contacts, administrators and API keys (docs/API.md, "Locales").
    """
    if reportd_locale is not None:
        return normalize_locale(reportd_locale)
    if locale is None:
        return None
    wanted = normalize_locale(locale)
    if stored is not None and wanted == sdk_locale(stored):
        return None
    return wanted
