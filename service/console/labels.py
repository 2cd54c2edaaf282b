"""Names the console shows for the service's enum values, marked for translation; dates on a
given zone's clock.

Templates translate them with ``_(REPORT_TYPES.get(value, value))``; a value without a label
shows as it is stored.
"""

from __future__ import annotations

import functools
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_datetime

from service.console.i18n import N_, translations
from service.delivery.ledger import DeliveryState
from service.reports.model import ReportType
from service.scheduling.task_schema import MisfirePolicy
from storage.tasks import OccurrenceOutcome

#: Report type -> its name in the console's lists.
REPORT_TYPES: dict[str, str] = {
    ReportType.summary.value: N_("Summary"),
    ReportType.computer.value: N_("Computer Report"),
    ReportType.alert.value: N_("Alert Report"),
    ReportType.attack.value: N_("Attack Report"),
    ReportType.anti_malware.value: N_("Anti-Malware Report"),
    ReportType.web_reputation.value: N_("Web Reputation Report"),
    ReportType.firewall.value: N_("Firewall Report"),
    ReportType.intrusion_prevention.value: N_("Intrusion Prevention Report"),
    ReportType.integrity_monitoring.value: N_("Integrity Monitoring Report"),
    ReportType.log_inspection.value: N_("Log Inspection Report"),
    ReportType.application_control.value: N_("Application Control Report"),
    ReportType.system_event.value: N_("System Event Report"),
    ReportType.security_module_usage.value: N_("Security Module Usage Report"),
}


#: A delivery's state as the console names it.
DELIVERY_STATES: dict[str, str] = {
    DeliveryState.pending.value: N_("pending"),
    DeliveryState.rendering.value: N_("rendering"),
    DeliveryState.sending.value: N_("sending"),
    DeliveryState.sent.value: N_("sent"),
    DeliveryState.failed.value: N_("failed"),
    DeliveryState.skipped.value: N_("skipped"),
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
    """Each report type's name in ``locale`` (:data:`REPORT_TYPES`, translated)."""
    catalog = translations(locale)
    return {value: catalog.gettext(label) for value, label in REPORT_TYPES.items()}


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
