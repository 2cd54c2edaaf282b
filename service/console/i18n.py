"""The console in the ten report languages: Jinja2 environments, catalogs, dates in a zone.

One environment per locale, built once per process, as the reports do: autoescape on,
``StrictUndefined``, ``jinja2.ext.i18n`` with newstyle gettext (placeholders are escaped)
bound to the console's own catalog (``service/console/locale``, read from the ``.po`` files
by ``service.reports.rendering.read_translations``). Dates and times are shown in the viewer's
zone, in the locale's format (Babel). Messages written in Python are marked with :func:`N_`
and translated in the template (``_(message)``); ``babel.cfg`` extracts both.
"""

from __future__ import annotations

import functools
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_time, get_timezone_gmt
from babel.numbers import format_decimal
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.runtime import Context
from jinja2.utils import pass_context

from service.errors import InvalidInput
from service.reports.locales import SUPPORTED_LOCALES, normalize_locale
from service.reports.rendering import read_translations

#: The console's folder: ``templates/``, ``static/``, ``locale/`` and ``babel.cfg``.
CONSOLE_DIR = Path(__file__).parent
TEMPLATES_DIR = CONSOLE_DIR / "templates"
LOCALE_DIR = CONSOLE_DIR / "locale"
#: The language of a page when nothing says otherwise.
DEFAULT_LOCALE = "en-US"


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "translate later"
    """Marks ``message`` for extraction; the template translates it with ``_(message)``."""
    return message


@functools.cache
def translations(locale: str) -> Translations:
    return read_translations(LOCALE_DIR, locale)


def negotiate(accept_language: str | None) -> str:
    """The supported locale an ``Accept-Language`` header likes best, else en-US."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            weighted.append((-quality, index, tag))
    for _, _, tag in sorted(weighted):
        try:
            return normalize_locale(tag)
        except InvalidInput:
            continue
    return DEFAULT_LOCALE


def _zone(ctx: Context) -> tzinfo:
    zone = ctx.get("zone")
    return zone if isinstance(zone, tzinfo) else ZoneInfo("UTC")


def _filters(locale: Locale) -> dict[str, Any]:
    @pass_context
    def datetime_filter(ctx: Context, value: datetime | None) -> str:
        if value is None:
            return ""
        return str(format_datetime(value, "medium", tzinfo=_zone(ctx), locale=locale))

    @pass_context
    def date_filter(ctx: Context, value: datetime | None) -> str:
        if value is None:
            return ""
        return str(format_date(value.astimezone(_zone(ctx)), "medium", locale=locale))

    @pass_context
    def time_filter(ctx: Context, value: datetime | None) -> str:
        if value is None:
            return ""
        return str(format_time(value, "short", tzinfo=_zone(ctx), locale=locale))

    @pass_context
    def zone_label(ctx: Context, value: datetime) -> str:
        return str(get_timezone_gmt(value, locale=locale, width="short").replace("GMT", "UTC"))

    def number_filter(value: float) -> str:
        return str(format_decimal(value, locale=locale))

    return {
        "datetime": datetime_filter,
        "date": date_filter,
        "time": time_filter,
        "gmt": zone_label,
        "number": number_filter,
    }


@functools.cache
def environment(locale: str) -> Environment:
    """The locale's environment; templates compile once per process and locale."""
    if locale not in SUPPORTED_LOCALES:
        locale = DEFAULT_LOCALE
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(("html",), default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        extensions=["jinja2.ext.i18n"],
    )
    env.policies["ext.i18n.trimmed"] = True  # babel.cfg extracts with trimmed = true as well
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(_filters(Locale.parse(locale, sep="-")))
    env.globals["lang"] = locale
    return env


def language_names() -> list[tuple[str, str]]:
    """Each supported locale with its name in its own language, for the language pickers."""
    return [
        (tag, Locale.parse(tag, sep="-").get_display_name() or tag) for tag in SUPPORTED_LOCALES
    ]
