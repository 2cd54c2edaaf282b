"""Choices the console's forms offer: languages and time zones."""

from __future__ import annotations

import functools
import zoneinfo

from service.console.i18n import language_names

#: Areas of the IANA database whose zones the pickers list (plus UTC); aliases are left out.
ZONE_AREAS = (
    "Africa/",
    "America/",
    "Antarctica/",
    "Asia/",
    "Atlantic/",
    "Australia/",
    "Europe/",
    "Indian/",
    "Pacific/",
)


@functools.cache
def _zones() -> tuple[str, ...]:
    names = sorted(z for z in zoneinfo.available_timezones() if z.startswith(ZONE_AREAS))
    return ("UTC", *names)


def zone_options(current: str = "") -> list[tuple[str, str]]:
    """(value, text) of every zone, with ``current`` kept when it is an alias not listed."""
    zones = list(_zones())
    if current and current not in zones:
        zones.insert(0, current)
    return [(zone, zone.replace("_", " ")) for zone in zones]


def language_options() -> list[tuple[str, str]]:
    return language_names()
