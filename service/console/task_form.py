"""The scheduled-task form: name, schedule, report and recipients, as the SDK's ``ScheduledTask``.

The form writes the JSON a console client sends (``scheduleDetails`` from
:mod:`service.console.schedule_form`, ``generateReportTaskParameters`` from
:mod:`service.console.report_form` plus ``recipients``), and ``ScheduledTaskBody.from_api``
parses it once: the schedule's and the report's own models, every refusal naming a JSON
field. :data:`TASK_FIELDS` puts each beside the control that holds it; dates the form cannot
read at all are the form's own errors, said in the viewer's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from service.console.report_form import (
    NOBODY,
    REPORT_FIELDS,
    UNREADABLE_TIME,
    RecipientsForm,
    ReportForm,
    field_errors,
    read_local,
)
from service.console.schedule_form import SCHEDULE_FIELDS, ScheduleForm
from service.console.web import text
from service.errors import InvalidInput
from service.reports.spec import ReportSpec
from service.scheduling.scheduler import TaskView
from service.scheduling.task_admin import ScheduledTaskBody
from service.scheduling.task_schema import MisfirePolicy, RecurrenceType

#: JSON field of a task -> the form field showing its error (the longest known prefix wins).
TASK_FIELDS: dict[str, str] = {
    "name": "name",
    "enabled": "enabled",
    "misfirePolicy": "misfire",
    "scheduleDetails": "schedule",
    **{f"scheduleDetails.{path}": name for path, name in SCHEDULE_FIELDS.items()},
    "generateReportTaskParameters": "report",
    **{f"generateReportTaskParameters.{path}": name for path, name in REPORT_FIELDS.items()},
    "recipients": "recipients",
    "task": "form",
}


@dataclass
class TaskForm:
    name: str = ""
    enabled: bool = True
    misfire: str = MisfirePolicy.coalesce.value
    schedule: ScheduleForm = field(default_factory=ScheduleForm)
    report: ReportForm = field(default_factory=lambda: ReportForm(value="1"))
    recipients: RecipientsForm = field(default_factory=RecipientsForm)
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def posted(cls, form: FormData) -> TaskForm:
        return cls(
            name=text(form, "name").strip(),
            enabled=text(form, "enabled") == "on",
            misfire=text(form, "misfire") or MisfirePolicy.coalesce.value,
            schedule=ScheduleForm.posted(form),
            report=ReportForm.posted(form),
            recipients=RecipientsForm.posted(form),
        )

    @classmethod
    def of(cls, task: TaskView) -> TaskForm:
        """The stored task as a form; a policy or schedule that no longer reads is offered
        as the defaults (UTC), so saving the form repairs the task."""
        details = task.schedule
        schedule = ScheduleForm.of(details) if details is not None else ScheduleForm()
        parameters = dict(task.parameters)
        recipients = parameters.pop("recipients", {})
        return cls(
            name=task.name,
            enabled=task.enabled,
            misfire=(task.misfire_policy or MisfirePolicy.coalesce).value,
            schedule=schedule,
            report=ReportForm.of(ReportSpec.from_api(parameters), task.zone),
            recipients=RecipientsForm.of(recipients),
        )

    def to_api(self) -> dict[str, Any]:
        """The SDK's ``ScheduledTask`` of the form, as typed."""
        parameters = self.report.to_api(self.schedule.zone)
        parameters["recipients"] = self.recipients.to_api()
        return {
            "name": self.name,
            "type": "generate-report",
            "enabled": self.enabled,
            "misfirePolicy": self.misfire,
            "scheduleDetails": self.schedule.to_api(),
            "generateReportTaskParameters": parameters,
        }

    def unreadable(self) -> dict[str, str]:
        """Date and time fields the form cannot read (message ids, to translate)."""
        found: dict[str, str] = {}
        zone = self.schedule.zone
        hourly = self.schedule.recurrence == RecurrenceType.hourly.value
        wanted = (
            ("start_at", self.schedule.start, not hourly),
            ("end_at", self.schedule.end, False),
        )
        for name, value, required in wanted:
            if (value.strip() or required) and read_local(value, zone) is None:
                found[name] = UNREADABLE_TIME
        found.update(self.report.unreadable(zone))
        if not self.recipients.named:
            found["recipients"] = NOBODY
        return found

    def body(self) -> ScheduledTaskBody:
        """The task's body, parsed once; ``InvalidInput`` names the fields it refuses."""
        return ScheduledTaskBody.from_api(self.to_api())

    def refused(self, error: InvalidInput) -> TaskForm:
        """The form with each of the service's refusals beside its field."""
        found = field_errors(error, TASK_FIELDS)
        if self.report.window == "custom" and "value" in found:
            found["report_end"] = found.pop("value")
        self.errors.update({k: v for k, v in found.items() if k not in self.errors})
        return self
