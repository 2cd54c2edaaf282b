"""Asking for a report run: the run and its deliveries, for a spec an edge has built.

Shared by the CLI, the API and the scheduler; the spec was checked when it was built
(``service.reports.spec``), so nothing is validated twice; only what the JSON cannot say by
itself is checked here (that a smart folder it names exists in the account). The caller
commits, then enqueues ``start_run``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from service.delivery.ledger import NewRun, Recipients, create_run
from service.directory.smart_folders import require_folder
from service.errors import InvalidInput
from service.reports.spec import ReportSpec
from storage.scoped import ComputerFilterType, Scope, filter_subject


def new_report_run(
    session: Session,
    *,
    account_id: int,
    spec: ReportSpec,
    recipients: Recipients,
    triggered_by: str,
    period_start: datetime,
    period_end: datetime,
    now: datetime,
    scheduled_task_id: int | None = None,
    occurrence: datetime | None = None,
) -> NewRun:
    """Create the run of ``spec`` over ``[period_start, period_end)``, stored as its JSON;
    a smart folder it names must be the account's (``InvalidInput`` otherwise)."""
    require_folder(session, account_id, spec.report_filter)
    return create_run(
        session,
        account_id=account_id,
        report_type=spec.kind.value,
        parameters=spec.spec.to_api(),
        recipients=recipients,
        triggered_by=triggered_by,
        period_start=period_start,
        period_end=period_end,
        now=now,
        scheduled_task_id=scheduled_task_id,
        occurrence=occurrence,
    )


#: Computer filter type -> (its ID's field in the JSON, what it names).
FILTER_TARGETS: dict[ComputerFilterType, tuple[str, str]] = {
    ComputerFilterType.computer: ("computerID", "computer"),
    ComputerFilterType.computers_in_group: ("computerGroupID", "computer group"),
    ComputerFilterType.computers_in_group_or_subgroup: ("computerGroupID", "computer group"),
    ComputerFilterType.computers_using_policy: ("policyID", "policy"),
    ComputerFilterType.computers_using_policy_or_subpolicy: ("policyID", "policy"),
}


def whole_account(account_id: int) -> Scope:
    """The scope of the account's administrator at the command line: everything in it."""
    return Scope(
        account_id=account_id,
        all_computers=True,
        not_related_to_computers=True,
        all_policies=True,
    )


def check_filter(session: Session, scope: Scope, spec: ReportSpec) -> None:
    """InvalidInput when ``spec`` filters on a computer, group or policy that does not exist
    or that ``scope`` (the requester's) may not see: the report would be empty, and mailing
    it would hide the mistake. The same answer for both, so IDs cannot be probed."""
    report_filter = spec.report_filter
    target = FILTER_TARGETS.get(report_filter.computer_filter)
    if target is None or filter_subject(session, scope, report_filter) is not None:
        return
    field, what = target
    wanted = {
        "computerID": report_filter.computer_id,
        "computerGroupID": report_filter.computer_group_id,
        "policyID": report_filter.policy_id,
    }[field]
    raise InvalidInput(
        f"computerFilter.{field}: no {what} with ID {wanted} among the computers you may see"
    )
