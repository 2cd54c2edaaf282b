"""Names the console shows for the service's enum values, marked for translation.

Templates translate them with ``_(REPORT_TYPES.get(value, value))``; a value without a label
shows as it is stored.
"""

from __future__ import annotations

from service.console.i18n import N_
from service.reports.model import ReportType

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
