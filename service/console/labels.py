"""Words the console shows for the delivery ledger's and the reports' values, in every locale.

Report titles are the reports' own messages (the report catalogs translate them for the PDFs
already), so the console reads them from there rather than keeping a second copy. States and
outcomes are the console's messages, marked here and translated in the templates.
"""

from __future__ import annotations

import functools
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_datetime

from service.console.i18n import N_
from service.delivery.ledger import DeliveryState
from service.reports.kinds import KINDS
from service.reports.rendering import LOCALE_DIR, read_translations
from service.scheduling.task_schema import MisfirePolicy
from storage.tasks import OccurrenceOutcome

#: A delivery's state as the console names it.
DELIVERY_STATES: dict[str, str] = {
    DeliveryState.pending.value: N_("pending"),
    DeliveryState.rendering.value: N_("rendering"),
    DeliveryState.sending.value: N_("sending"),
    DeliveryState.sent.value: N_("sent"),
    DeliveryState.failed.value: N_("failed"),
}
#: What became of a task's occurrence.
OUTCOMES: dict[str, str] = {
    OccurrenceOutcome.fired.value: N_("fired"),
    OccurrenceOutcome.coalesced.value: N_("covered by a later run"),
    OccurrenceOutcome.skipped.value: N_("skipped"),
}
MISFIRE_POLICIES: dict[str, str] = {
    MisfirePolicy.coalesce.value: N_("Run once for the missed occurrences"),
    MisfirePolicy.skip.value: N_("Skip the missed occurrences"),
}


@functools.cache
def kind_titles(locale: str) -> dict[str, str]:
    """Each report type's title in ``locale``, from the reports' catalog."""
    catalog = read_translations(LOCALE_DIR, locale)
    return {kind.report_type.value: catalog.gettext(kind.title) for kind in KINDS}


def state_label(state: str) -> str:
    """The message id of a delivery state (an unknown one as it is)."""
    return DELIVERY_STATES.get(state, state)


def in_zone(moment: datetime | None, zone_name: str, locale: str) -> str:
    """``moment`` on the clock of the zone named (a task's), in the locale's medium form."""
    if moment is None:
        return ""
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return str(
        format_datetime(moment, "EEE, " + _medium(locale), tzinfo=zone, locale=_babel(locale))
    )


@functools.cache
def _babel(locale: str) -> Locale:
    return Locale.parse(locale, sep="-")


@functools.cache
def _medium(locale: str) -> str:
    """The locale's medium date and short time pattern (a weekday is put before it)."""
    babel = _babel(locale)
    pattern = str(babel.datetime_formats["medium"])
    return pattern.replace("{1}", str(babel.date_formats["medium"].pattern)).replace(
        "{0}", str(babel.time_formats["short"].pattern)
    )
