"""Scheduled tasks and the record of every occurrence they had, as SQLAlchemy 2 typed models.

A task keeps the console API's JSON as given (``schedule_details`` is the SDK's
``scheduleDetails``, ``parameters`` its ``generateReportTaskParameters``, both camelCase), so the
API serves it unchanged. The scheduler claims a task when ``next_run`` has come (or ``run_now``
is set), and in the same transaction writes one ``TaskOccurrence`` per due occurrence and moves
``next_run`` on; a task that cannot fire is marked broken (``broken_reason``, ``broken_since``)
and skipped until edited; see ``service.scheduling.scheduler``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, utcnow


class OccurrenceOutcome(StrEnum):
    """What became of one occurrence of a task."""

    fired = "fired"  # it has a run of its own
    coalesced = "coalesced"  # missed; covered by the run of a later occurrence (``run_id``)
    skipped = "skipped"  # no run: missed under misfire policy skip, or the run was refused


class ScheduledTaskRow(Base):
    """A generate-report scheduled task of one account."""

    __tablename__ = "scheduled_tasks"
    __table_args__ = (
        UniqueConstraint("account_id", "name"),
        Index("ix_scheduled_tasks_enabled_next_run", "enabled", "next_run"),
        # Few rows have run_now set: a partial index finds them without a scan.
        Index(
            "ix_scheduled_tasks_run_now",
            "run_now",
            postgresql_where=text("run_now"),
            sqlite_where=text("run_now"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: The SDK's ``scheduleDetails`` object, as ``ScheduleDetails.to_api()`` writes it.
    schedule_details: Mapped[dict[str, Any]] = mapped_column()
    #: The SDK's ``generateReportTaskParameters`` object, recipients included.
    parameters: Mapped[dict[str, Any]] = mapped_column()
    misfire_policy: Mapped[str] = mapped_column(String(16), default="coalesce")
    #: The next occurrence to fire; NULL once the schedule has ended.
    next_run: Mapped[datetime | None] = mapped_column(default=None)
    #: The newest occurrence handled (fired, coalesced or skipped); nothing up to it is due.
    last_fired: Mapped[datetime | None] = mapped_column(default=None)
    #: When the scheduler last created a run for the task (the SDK's ``lastRunTime``).
    last_run_time: Mapped[datetime | None] = mapped_column(default=None)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    #: Fire once at the next tick, whatever the schedule says (the SDK's ``runNow``).
    run_now: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Why the task could not fire, when it last failed; the scheduler skips it until an
    #: edit or a run-now clears the mark. NULL: not broken.
    broken_reason: Mapped[str | None] = mapped_column(Text, default=None)
    broken_since: Mapped[datetime | None] = mapped_column(default=None)


class TaskOccurrence(Base):
    """One occurrence of a task and its outcome: missed ones are recorded, never dropped."""

    __tablename__ = "task_occurrences"
    __table_args__ = (UniqueConstraint("task_id", "occurrence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("scheduled_tasks.id", ondelete="CASCADE"))
    occurrence: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(16))
    #: The run that fired it or that it was coalesced into; NULL when skipped.
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("report_runs.id", ondelete="SET NULL"), default=None
    )
    #: Why it was skipped, or what changed (recipients that no longer exist).
    reason: Mapped[str] = mapped_column(Text, default="")
    recorded: Mapped[datetime] = mapped_column(default=utcnow)
