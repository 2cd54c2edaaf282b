"""A report's computer and tag filters narrow what the clearance allows; they never widen it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.directory.accounts import create_account
from service.directory.clearance import scope_for
from service.directory.importing import import_dataset, parse_dataset
from service.directory.sample import sample_dataset
from service.directory.secretbox import SecretBox
from storage.models import Computer, ComputerGroup, Contact, Policy
from storage.records import load_role
from storage.scoped import (
    ComputerFilterType,
    ReportFilter,
    Scope,
    TagFilterType,
    count_window,
    filter_subject,
    permitted_alerts,
    permitted_computers,
    permitted_events,
    permitted_system_events,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ALL_COMPUTERS = ReportFilter()
WEEK = (NOW - timedelta(days=8), NOW + timedelta(days=1))


@pytest.fixture
def sample(session: Session) -> dict[str, object]:
    account = create_account(session, name="Filters Inc.")
    data = parse_dataset(json.dumps(sample_dataset(now=NOW)))
    import_dataset(session, account_id=account.id, dataset=data, box=SecretBox("k"))

    def scope_of(email: str) -> Scope:
        contact = session.scalars(
            select(Contact).where(Contact.account_id == account.id, Contact.email_address == email)
        ).one()
        return scope_for(load_role(session, account.id, contact.role_id), account.id)

    groups = {
        g.name: g.id
        for g in session.scalars(
            select(ComputerGroup).where(ComputerGroup.account_id == account.id)
        )
    }
    policies = {
        p.name: p.id for p in session.scalars(select(Policy).where(Policy.account_id == account.id))
    }
    computers = {
        c.display_name: c.id
        for c in session.scalars(select(Computer).where(Computer.account_id == account.id))
    }
    return {
        "full": scope_of("alex.morgan@example.com"),
        "web": scope_of("hanako.sato@example.jp"),
        "groups": groups,
        "policies": policies,
        "computers": computers,
    }


def _prefixes(session: Session, scope: Scope, flt: ReportFilter) -> set[str]:
    return {c.display_name.split("-")[0] for c in permitted_computers(session, scope, flt)}


def test_a_group_tree_filter_keeps_the_group_and_its_sub_groups(session, sample) -> None:
    flt = ReportFilter(
        computer_filter=ComputerFilterType.computers_in_group_or_subgroup,
        computer_group_id=sample["groups"]["Datacenter Tokyo"],
    )
    assert _prefixes(session, sample["full"], flt) == {"web", "fron", "data"}


def test_a_group_filter_without_sub_groups_keeps_only_that_group(session, sample) -> None:
    flt = ReportFilter(
        computer_filter=ComputerFilterType.computers_in_group,
        computer_group_id=sample["groups"]["Web Servers"],
    )
    assert _prefixes(session, sample["full"], flt) == {"web"}


def test_a_filter_outside_the_clearance_shows_nothing(session, sample) -> None:
    databases = ReportFilter(
        computer_filter=ComputerFilterType.computers_in_group_or_subgroup,
        computer_group_id=sample["groups"]["Databases"],
    )
    laptop = ReportFilter(
        computer_filter=ComputerFilterType.computer, computer_id=sample["computers"]["lapt-01"]
    )
    assert permitted_computers(session, sample["web"], databases) == []
    assert permitted_computers(session, sample["web"], laptop) == []


def test_a_policy_tree_filter_follows_child_policies(session, sample) -> None:
    tree = ReportFilter(
        computer_filter=ComputerFilterType.computers_using_policy_or_subpolicy,
        policy_id=sample["policies"]["Linux Server"],
    )
    only = ReportFilter(
        computer_filter=ComputerFilterType.computers_using_policy,
        policy_id=sample["policies"]["Linux Server"],
    )
    assert _prefixes(session, sample["full"], tree) == {"web", "fron", "data"}
    assert _prefixes(session, sample["full"], only) == {"data"}


def test_tag_filters_select_tagged_or_untagged_computers(session, sample) -> None:
    pci = ReportFilter(tag_filter=TagFilterType.specific_tags, tags=frozenset({"pci"}))
    untagged = ReportFilter(tag_filter=TagFilterType.untagged)
    assert _prefixes(session, sample["full"], pci) == {"fron", "data"}
    assert _prefixes(session, sample["full"], untagged) == {"web", "lapt"}
    assert _prefixes(session, sample["web"], pci) == {"fron"}


def test_a_computer_filter_leaves_out_events_about_no_computer(session, sample) -> None:
    flt = ReportFilter(
        computer_filter=ComputerFilterType.computers_in_group_or_subgroup,
        computer_group_id=sample["groups"]["Datacenter Tokyo"],
    )
    everything = permitted_system_events(session, sample["full"], *WEEK)
    filtered = permitted_system_events(session, sample["full"], *WEEK, report_filter=flt)
    assert any(e.computer_id is None for e in everything)
    assert all(e.computer_id is not None for e in filtered)


def test_a_filter_missing_its_id_is_refused() -> None:
    with pytest.raises(ValueError, match="computer_group_id"):
        ReportFilter(computer_filter=ComputerFilterType.computers_in_group)
    with pytest.raises(ValueError, match="at least one tag"):
        ReportFilter(tag_filter=TagFilterType.specific_tags)


# What a report's title names


def test_a_filter_is_named_by_what_it_selects_when_the_clearance_may_know_it(
    session, sample
) -> None:
    groups, policies, computers = sample["groups"], sample["policies"], sample["computers"]
    frontend = ReportFilter(
        computer_filter=ComputerFilterType.computers_in_group_or_subgroup,
        computer_group_id=groups["Frontend"],
    )
    web_server = ReportFilter(
        computer_filter=ComputerFilterType.computers_using_policy, policy_id=policies["Web Server"]
    )
    web_01 = ReportFilter(
        computer_filter=ComputerFilterType.computer, computer_id=computers["web-01"]
    )

    assert filter_subject(session, sample["web"], frontend) == (
        "Datacenter Tokyo / Web Servers / Frontend"
    )
    assert filter_subject(session, sample["web"], web_server) == "Web Server"
    assert filter_subject(session, sample["full"], web_01) == "web-01"
    assert filter_subject(session, sample["full"], ReportFilter()) is None


def test_a_filter_outside_the_clearance_is_not_named(session, sample) -> None:
    # The Web Team sees none of the databases, a laptop or the Windows policy's computers.
    databases = ReportFilter(
        computer_filter=ComputerFilterType.computers_in_group,
        computer_group_id=sample["groups"]["Databases"],
    )
    laptop = ReportFilter(
        computer_filter=ComputerFilterType.computer, computer_id=sample["computers"]["lapt-01"]
    )
    windows = ReportFilter(
        computer_filter=ComputerFilterType.computers_using_policy_or_subpolicy,
        policy_id=sample["policies"]["Windows Workstation"],
    )

    for flt in (databases, laptop, windows):
        assert filter_subject(session, sample["web"], flt) is None
        assert filter_subject(session, Scope.empty(), flt) is None


def test_a_window_is_counted_as_the_report_reads_it(session, sample) -> None:
    # Given a clearance and a filter
    pci = ReportFilter(tag_filter=TagFilterType.specific_tags, tags=frozenset({"pci"}))
    for scope, flt in ((sample["full"], ALL_COMPUTERS), (sample["web"], pci)):
        # When a window is counted
        counts = count_window(session, scope, *WEEK, report_filter=flt)

        # Then it counts the rows the report's own statements return
        assert counts.events == len(permitted_events(session, scope, *WEEK, report_filter=flt))
        assert counts.alerts == len(permitted_alerts(session, scope, *WEEK, report_filter=flt))
        assert counts.system_events == len(
            permitted_system_events(session, scope, *WEEK, report_filter=flt)
        )
        assert counts.events > 0
    assert count_window(session, Scope.empty(), *WEEK).events == 0
    assert count_window(session, sample["full"], WEEK[0] - timedelta(days=9), WEEK[0]).events == 0
