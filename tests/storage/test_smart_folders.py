"""A smart folder selects computers by its criteria, in SQL, and never beyond the clearance."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.directory.accounts import create_account
from service.directory.clearance import scope_for
from service.directory.importing import import_dataset, parse_dataset
from service.directory.sample import sample_dataset
from service.directory.secretbox import SecretBox
from storage.criteria import SmartFolderCriteria
from storage.models import Computer, ComputerGroup, Contact, Policy
from storage.records import load_role
from storage.scoped import (
    ComputerFilterType,
    ReportFilter,
    Scope,
    count_window,
    filter_subject,
    permitted_alerts,
    permitted_computers,
    permitted_events,
    permitted_system_events,
)
from storage.smart_folders import add_folder, folder_named, remove_folder, resolve

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
WEEK = (NOW - timedelta(days=8), NOW + timedelta(days=1))


class Sample:
    def __init__(self, session: Session) -> None:
        self.session = session
        account = create_account(session, name="Folders Inc.")
        self.account_id = account.id
        data = parse_dataset(json.dumps(sample_dataset(now=NOW)))
        import_dataset(session, account_id=account.id, dataset=data, box=SecretBox("k"))
        self.groups = {
            g.name: g.id
            for g in session.scalars(
                select(ComputerGroup).where(ComputerGroup.account_id == account.id)
            )
        }
        self.policies = {
            p.name: p.id
            for p in session.scalars(select(Policy).where(Policy.account_id == account.id))
        }
        self.computers = list(
            session.scalars(select(Computer).where(Computer.account_id == account.id))
        )
        self.full = self.scope_of("alex.morgan@example.com")
        self.web = self.scope_of("hanako.sato@example.jp")

    def scope_of(self, email: str) -> Scope:
        contact = self.session.scalars(
            select(Contact).where(
                Contact.account_id == self.account_id, Contact.email_address == email
            )
        ).one()
        return scope_for(load_role(self.session, self.account_id, contact.role_id), self.account_id)

    def folder(self, name: str, **criteria: Any) -> ReportFilter:
        """A new folder of the sample account, as a report's resolved filter."""
        record = add_folder(
            self.session,
            self.account_id,
            name=name,
            description="",
            criteria=SmartFolderCriteria.model_validate(criteria),
        )
        return resolve(self.session, self.account_id, by_folder(record.id))

    def names(self, scope: Scope, flt: ReportFilter) -> set[str]:
        return {c.display_name for c in permitted_computers(self.session, scope, flt)}

    def named(self, predicate: Any) -> set[str]:
        return {c.display_name for c in self.computers if predicate(c)}


def by_folder(folder_id: int) -> ReportFilter:
    return ReportFilter(
        computer_filter=ComputerFilterType.computers_in_smart_folder, smart_folder_id=folder_id
    )


@pytest.fixture
def sample(session: Session) -> Sample:
    return Sample(session)


def test_the_platform_criterion_matches_a_part_of_the_platform_in_any_case(sample) -> None:
    ubuntu = sample.folder("Ubuntu", platform="ubuntu")
    windows = sample.folder("Windows", platform="WINDOWS 11")
    assert sample.names(sample.full, ubuntu) == sample.named(lambda c: "Ubuntu" in c.platform)
    assert {n[:4] for n in sample.names(sample.full, ubuntu)} == {"web-", "fron"}
    assert {n[:4] for n in sample.names(sample.full, windows)} == {"lapt"}


def test_a_platform_with_like_wildcards_matches_them_literally(sample) -> None:
    assert sample.names(sample.full, sample.folder("Percent", platform="%")) == set()
    assert sample.names(sample.full, sample.folder("Underscore", platform="_")) == set()


def test_the_agent_status_criterion_matches_any_of_the_statuses(sample) -> None:
    attention = sample.folder("Attention", agentStatuses=["offline", "warning"])
    expected = sample.named(lambda c: c.agent_status in ("offline", "warning"))
    assert expected and sample.names(sample.full, attention) == expected


def test_the_tags_criterion_needs_every_tag(sample) -> None:
    pci = sample.folder("PCI", tags=["pci"])
    pci_and_more = sample.folder("PCI and more", tags=["pci", "not-there"])
    assert {n[:4] for n in sample.names(sample.full, pci)} == {"fron", "data"}
    assert sample.names(sample.full, pci_and_more) == set()


def test_the_group_criterion_takes_sub_groups_only_when_asked(sample) -> None:
    web = sample.groups["Web Servers"]
    only = sample.folder("Web only", computerGroupID=web)
    tree = sample.folder("Web tree", computerGroupID=web, includeSubgroups=True)
    assert {n[:4] for n in sample.names(sample.full, only)} == {"web-"}
    assert {n[:4] for n in sample.names(sample.full, tree)} == {"web-", "fron"}


def test_the_policy_criterion_takes_child_policies_only_when_asked(sample) -> None:
    linux = sample.policies["Linux Server"]
    only = sample.folder("Linux only", policyID=linux)
    tree = sample.folder("Linux tree", policyID=linux, includeSubpolicies=True)
    assert {n[:4] for n in sample.names(sample.full, only)} == {"data"}
    assert {n[:4] for n in sample.names(sample.full, tree)} == {"web-", "fron", "data"}


def test_criteria_together_must_all_hold_and_none_is_every_computer(sample) -> None:
    both = sample.folder("Ubuntu PCI", platform="Ubuntu", tags=["pci"])
    everything = sample.folder("Everything")
    assert {n[:4] for n in sample.names(sample.full, both)} == {"fron"}
    assert sample.names(sample.full, everything) == sample.named(lambda c: True)


def test_a_folder_never_widens_a_clearance(sample) -> None:
    # Given the Web Team (the web servers' branch only, no viewing of non-selected computers)
    # and a folder that holds the databases too
    # (the sample's own folder, imported with the dataset)
    imported = folder_named(sample.session, sample.account_id, "PCI in Tokyo")
    assert imported is not None
    pci = resolve(sample.session, sample.account_id, by_folder(imported.id))
    databases = sample.folder("Databases", computerGroupID=sample.groups["Databases"])

    # Then the team gets only the intersection: the frontend, never the databases
    assert {n[:4] for n in sample.names(sample.full, pci)} == {"fron", "data"}
    assert {n[:4] for n in sample.names(sample.web, pci)} == {"fron"}
    assert sample.names(sample.web, databases) == set()
    assert permitted_events(sample.session, sample.web, *WEEK, report_filter=databases) == []
    assert sample.names(Scope.empty(), pci) == set()


def test_events_and_alerts_follow_the_folders_computers(sample) -> None:
    pci = sample.folder("PCI", tags=["pci"])
    inside = {c.id for c in permitted_computers(sample.session, sample.full, pci)}
    events = permitted_events(sample.session, sample.full, *WEEK, report_filter=pci)
    alerts = permitted_alerts(sample.session, sample.full, *WEEK, report_filter=pci)
    system = permitted_system_events(sample.session, sample.full, *WEEK, report_filter=pci)
    assert events and {e.computer_id for e in events} <= inside
    assert {a.computer_id for a in alerts} <= inside  # none about no computer
    assert {e.computer_id for e in system} <= inside
    counts = count_window(sample.session, sample.full, *WEEK, report_filter=pci)
    assert (counts.events, counts.alerts, counts.system_events) == (
        len(events),
        len(alerts),
        len(system),
    )


def test_a_folder_of_another_account_or_an_unknown_one_matches_nothing(sample) -> None:
    # Given a folder of everything in another account
    other = create_account(sample.session, name="Other Inc.")
    theirs = add_folder(
        sample.session, other.id, name="All", description="", criteria=SmartFolderCriteria()
    )

    # When this account's report names it, or a folder that does not exist
    for folder_id in (theirs.id, 2**31 - 1):
        flt = resolve(sample.session, sample.account_id, by_folder(folder_id))

        # Then nothing matches, and the title does not name it
        assert flt.smart_folder is None
        assert sample.names(sample.full, flt) == set()
        assert permitted_events(sample.session, sample.full, *WEEK, report_filter=flt) == []
        assert filter_subject(sample.session, sample.full, flt) is None
    # An unresolved filter (its criteria never read) matches nothing either
    assert sample.names(sample.full, by_folder(theirs.id)) == set()


def test_a_folder_is_named_in_the_title_to_any_clearance_of_the_account(sample) -> None:
    pci = sample.folder("PCI in the title", tags=["pci"])
    assert filter_subject(sample.session, sample.full, pci) == "PCI in the title"
    assert filter_subject(sample.session, sample.web, pci) == "PCI in the title"
    assert filter_subject(sample.session, Scope.empty(), pci) is None


def test_a_deleted_folders_id_is_never_given_again(sample) -> None:
    first = add_folder(
        sample.session,
        sample.account_id,
        name="Gone",
        description="",
        criteria=SmartFolderCriteria(),
    )
    assert remove_folder(sample.session, sample.account_id, first.id)
    second = add_folder(
        sample.session,
        sample.account_id,
        name="New",
        description="",
        criteria=SmartFolderCriteria(),
    )
    assert second.id > first.id
    assert (
        sample.names(sample.full, resolve(sample.session, sample.account_id, by_folder(first.id)))
        == set()
    )


def test_the_criteria_are_read_back_typed(sample) -> None:
    sample.folder("Typed", platform="Ubuntu", agentStatuses=["active"], policyID=1)
    sample.session.expire_all()
    record = folder_named(sample.session, sample.account_id, "Typed")
    assert record is not None
    assert record.criteria == SmartFolderCriteria(
        platform="Ubuntu", agent_statuses=("active",), policy_id=1
    )
    assert record.criteria.to_api() == {
        "platform": "Ubuntu",
        "agentStatuses": ["active"],
        "policyID": 1,
    }
