"""Scope benchmark: one restricted contact's computers and last-7-days events, on PostgreSQL.

The issue's figure: with 100k computers in 5k groups six levels deep and 5M security events
over 30 days, fetching a restricted contact's computers and last-7-days events should take
under 100 ms. Data is generated in SQL (``INSERT ... SELECT generate_series``), never as ORM
objects, and the measured calls are the real ``storage.scoped`` functions.

    python -m ops.bench.scope            # full size: drops and reloads the database
    python -m ops.bench.scope --reuse    # measure again on an already loaded database
    python -m ops.bench.scope --quick    # a small run that checks the script end to end

Figures, before and after the changes to ``storage.scoped``, are in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    select,
    text,
)
from sqlalchemy.orm import Session, sessionmaker

from ops.bench.databases import fresh_database
from service.directory.accounts import create_account, create_role
from service.directory.clearance import scope_for
from service.directory.contacts import add_contact
from service.directory.rights import RoleRights
from service.directory.secretbox import SecretBox
from service.reports.model import EventModule
from storage.concurrent import read_concurrently
from storage.db import make_engine, make_session_factory
from storage.models import (
    Account,
    Contact,
    Role,
    RoleComputer,
    RoleComputerGroup,
)
from storage.records import load_role
from storage.scoped import (
    Scope,
    count_scope,
    events_statement,
    permitted_computers,
    permitted_events,
)

#: Where the benchmark database lives; it is dropped and created again unless ``--reuse``.
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/reportd_bench"
#: The account under test, and a second one whose rows every query must skip.
BENCH_ACCOUNT = "Bench Corp"
OTHER_ACCOUNT = "Other Corp"
#: The other account's sizes, as a share of the bench account's.
OTHER_SHARE = 0.02
#: Share of the groups at tree levels one to five; the rest are at level six.
GROUP_LEVEL_SHARES = (0.002, 0.02, 0.06, 0.18, 0.34)
#: Fewest groups a six-level tree is generated with (the other account's is small).
MIN_GROUPS = 12
#: Policies per level of the small policy tree.
POLICY_LEVELS = (5, 20, 40)
#: Share of computers at the root of the group tree (``group_id`` NULL).
ROOT_SHARE = 0.05
#: Days of events generated, and days a report fetches.
HISTORY_DAYS = 30
WINDOW_DAYS = 7
#: Single computers the restricted role selects besides its group.
SINGLE_COMPUTERS = 5
#: The issue's target for a restricted contact's computers plus events.
TARGET_MS = 100.0
ROLE_NAME = "Bench restricted"
CONTACT_NAME = "Bench contact"

SEVERITIES = ["info", "low", "low", "medium", "medium", "medium", "high", "high", "critical"]
ACTIONS = ["detected", "blocked", "blocked", "quarantined", "allowed"]
PLATFORMS = ["Windows Server 2022", "Ubuntu 22.04", "Red Hat Enterprise 9", "Amazon Linux 2023"]
STATUSES = ["active", "active", "active", "active", "offline", "warning", "error"]
TAGS = ["prod", "dev", "pci", "dmz"]


@dataclass(frozen=True)
class Sizes:
    computers: int
    groups: int
    events: int
    alerts: int
    system_events: int

    def scaled(self, share: float) -> Sizes:
        """These sizes times ``share``; at least one of each, and enough groups for six levels."""
        scaled = Sizes(*(max(1, round(value * share)) for value in vars(self).values()))
        return replace(scaled, groups=max(scaled.groups, MIN_GROUPS))


FULL = Sizes(
    computers=100_000, groups=5_000, events=5_000_000, alerts=50_000, system_events=500_000
)
QUICK = Sizes(computers=2_000, groups=200, events=100_000, alerts=1_000, system_events=10_000)


# Database --------------------------------------------------------------------------------


@contextmanager
def bare_table(connection: Connection, table: str) -> Iterator[None]:
    """Drop a table's secondary indexes and foreign keys for a bulk load, then restore them.

    Definitions are read from the catalog, so the restored table is the migrated one.
    """
    params = {"table": table}
    indexes = connection.execute(
        text(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
            " WHERE i.indrelid = CAST(:table AS regclass) AND NOT i.indisprimary"
        ),
        params,
    ).all()
    foreign_keys = connection.execute(
        text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = CAST(:table AS regclass) AND contype = 'f'"
        ),
        params,
    ).all()
    for name, _ in foreign_keys:
        connection.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        connection.exec_driver_sql(f"DROP INDEX {name}")
    yield
    for _, definition in indexes:
        connection.exec_driver_sql(definition)
    for name, definition in foreign_keys:
        connection.exec_driver_sql(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


# Generation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """A run of consecutive ids: ``first`` to ``first + count - 1``."""

    first: int
    count: int


def next_id(connection: Connection, table: str) -> int:
    return int(connection.exec_driver_sql(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").scalar())


def level_sizes(total: int) -> list[int]:
    """Groups per level of a six-level tree of ``total`` groups, widening downwards."""
    sizes = [max(1, round(total * share)) for share in GROUP_LEVEL_SHARES]
    if total - sum(sizes) < 1:
        sizes = [1] * len(GROUP_LEVEL_SHARES)
    last = total - sum(sizes)
    if last < 1:
        raise SystemExit(f"{total} groups are too few for a six-level tree")
    return [*sizes, last]


def insert_tree(
    connection: Connection, table: str, parent: str, account_id: int, sizes: list[int], label: str
) -> list[Block]:
    """A tree inserted level by level; each node's parent is spread evenly over the level above."""
    first = next_id(connection, table)
    levels: list[Block] = []
    for depth, count in enumerate(sizes, start=1):
        above = levels[-1] if levels else None
        parent_id = ":above_first + (i - 1) % :above_count" if above else "NULL::integer"
        connection.execute(
            text(
                f"INSERT INTO {table} (id, account_id, {parent}, name, description)"
                f" SELECT :first + i - 1, :account, {parent_id},"
                " :label || ' ' || :depth || '.' || i, ''"
                " FROM generate_series(1, :count) AS i"
            ),
            {
                "first": first,
                "account": account_id,
                "label": label,
                "depth": depth,
                "count": count,
                "above_first": above.first if above else 0,
                "above_count": above.count if above else 1,
            },
        )
        levels.append(Block(first, count))
        first += count
    return levels


def insert_computers(
    connection: Connection,
    account_id: int,
    count: int,
    groups: Block,
    policies: Block,
    now: datetime,
) -> Block:
    first = next_id(connection, "computers")
    connection.execute(
        text(
            "INSERT INTO computers (id, account_id, group_id, policy_id, host_name, display_name,"
            " description, platform, agent_status, last_agent_communication, modules)"
            " SELECT :first + i - 1, :account,"
            "  CASE WHEN random() < :root_share THEN NULL"
            "   ELSE :group_first + floor(random() * :group_count)::int END,"
            "  :policy_first + floor(random() * :policy_count)::int,"
            "  'host-' || lpad(i::text, 6, '0') || '.example.com',"
            "  CASE WHEN i % 3 = 0 THEN '' ELSE 'Server ' || i END, '',"
            "  (CAST(:platforms AS text[]))[1 + i % 4],"
            "  (CAST(:statuses AS text[]))[1 + i % 7],"
            "  :now - random() * interval '2 days',"
            '  CAST(\'["anti-malware", "firewall", "intrusion-prevention"]\' AS json)'
            " FROM generate_series(1, :count) AS i"
        ),
        {
            "first": first,
            "account": account_id,
            "root_share": ROOT_SHARE,
            "group_first": groups.first,
            "group_count": groups.count,
            "policy_first": policies.first,
            "policy_count": policies.count,
            "platforms": PLATFORMS,
            "statuses": STATUSES,
            "now": now,
            "count": count,
        },
    )
    connection.execute(
        text(
            "INSERT INTO computer_tags (computer_id, tag, account_id)"
            " SELECT id, (CAST(:tags AS text[]))[1 + id % 4], account_id FROM computers"
            " WHERE account_id = :account AND id % 3 = 0"
            " UNION ALL SELECT id, 'critical', account_id FROM computers"
            " WHERE account_id = :account AND id % 7 = 0"
        ),
        {"tags": TAGS, "account": account_id},
    )
    return Block(first, count)


def insert_events(
    connection: Connection, account_id: int, count: int, computers: Block, now: datetime
) -> None:
    """Security events in time order (as they arrive), on random computers and modules."""
    span = timedelta(days=HISTORY_DAYS).total_seconds()
    connection.execute(
        text(
            "INSERT INTO security_events"
            " (id, account_id, computer_id, module, time, severity, name, action, details)"
            " SELECT :first + i - 1, :account,"
            "  :computer_first + floor(random() * :computer_count)::int,"
            "  (CAST(:modules AS text[]))[1 + floor(random() * :module_count)::int],"
            "  :start + ((i - 1) * :step + random() * :step) * interval '1 second',"
            "  (CAST(:severities AS text[]))[1 + floor(random() * :severity_count)::int],"
            "  'Rule ' || (1000000 + floor(random() * 5000)::int),"
            "  (CAST(:actions AS text[]))[1 + floor(random() * :action_count)::int],"
            "  'Source 10.' || i % 251 || '.' || i % 241 || '.7, destination port ' || i % 65521"
            " FROM generate_series(1, :count) AS i"
        ),
        {
            "first": next_id(connection, "security_events"),
            "account": account_id,
            "computer_first": computers.first,
            "computer_count": computers.count,
            "modules": [m.value for m in EventModule],
            "module_count": len(EventModule),
            "start": now - timedelta(days=HISTORY_DAYS),
            "step": span / count,
            "severities": SEVERITIES,
            "severity_count": len(SEVERITIES),
            "actions": ACTIONS,
            "action_count": len(ACTIONS),
            "count": count,
        },
    )


def insert_alerts_and_system_events(
    connection: Connection, account_id: int, sizes: Sizes, computers: Block, now: datetime
) -> None:
    """Alerts and system events, some about no computer, so count_scope has real work."""
    span = timedelta(days=HISTORY_DAYS).total_seconds()
    common = {
        "account": account_id,
        "computer_first": computers.first,
        "computer_count": computers.count,
        "start": now - timedelta(days=HISTORY_DAYS),
    }
    connection.execute(
        text(
            "INSERT INTO alerts"
            " (id, account_id, computer_id, raised, severity, name, description, dismissed)"
            " SELECT :first + i - 1, :account,"
            "  CASE WHEN i % 10 = 0 THEN NULL"
            "   ELSE :computer_first + floor(random() * :computer_count)::int END,"
            "  :start + ((i - 1) * :step) * interval '1 second',"
            "  CASE WHEN i % 4 = 0 THEN 'critical' ELSE 'warning' END,"
            "  'Alert type ' || i % 40, 'Raised by the bench', random() < 0.3"
            " FROM generate_series(1, :count) AS i"
        ),
        {
            **common,
            "first": next_id(connection, "alerts"),
            "step": span / sizes.alerts,
            "count": sizes.alerts,
        },
    )
    connection.execute(
        text(
            "INSERT INTO system_events (id, account_id, computer_id, time, event_code, level,"
            " name, description, actor, origin)"
            " SELECT :first + i - 1, :account,"
            "  CASE WHEN i % 5 = 0 THEN NULL"
            "   ELSE :computer_first + floor(random() * :computer_count)::int END,"
            "  :start + ((i - 1) * :step) * interval '1 second',"
            "  (ARRAY[600, 700, 701, 130, 1900])[1 + i % 5],"
            "  (ARRAY['info', 'info', 'info', 'warning', 'error'])[1 + i % 5],"
            "  'System event ' || i % 50, '', 'System', ''"
            " FROM generate_series(1, :count) AS i"
        ),
        {
            **common,
            "first": next_id(connection, "system_events"),
            "step": span / sizes.system_events,
            "count": sizes.system_events,
        },
    )


def load_account(connection: Connection, account_id: int, sizes: Sizes, now: datetime) -> None:
    groups = insert_tree(
        connection,
        "computer_groups",
        "parent_group_id",
        account_id,
        level_sizes(sizes.groups),
        "Group",
    )
    policies = insert_tree(
        connection, "policies", "parent_id", account_id, list(POLICY_LEVELS), "Policy"
    )
    computers = insert_computers(
        connection,
        account_id,
        sizes.computers,
        Block(groups[0].first, sizes.groups),
        Block(policies[0].first, sum(POLICY_LEVELS)),
        now,
    )
    insert_events(connection, account_id, sizes.events, computers, now)
    insert_alerts_and_system_events(connection, account_id, sizes, computers, now)


def generate(engine: Engine, factory: sessionmaker[Session], sizes: Sizes) -> None:
    """Two accounts (with their real preconfigured roles) and their bulk data, then ANALYZE."""
    now = datetime.now().astimezone().replace(microsecond=0)
    with factory() as session, session.begin():
        bench = create_account(session, name=BENCH_ACCOUNT).id
        other = create_account(session, name=OTHER_ACCOUNT).id
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '1GB'")
        connection.exec_driver_sql("SELECT setseed(0.42)")
        with bare_table(connection, "security_events"), bare_table(connection, "system_events"):
            load_account(connection, bench, sizes, now)
            load_account(connection, other, sizes.scaled(OTHER_SHARE), now)
            print(f"  rows inserted: {time.perf_counter() - started:.1f} s")
        print(f"  indexes and foreign keys restored: {time.perf_counter() - started:.1f} s")
        for table in (
            "computer_groups",
            "policies",
            "computers",
            "security_events",
            "alerts",
            "system_events",
        ):
            connection.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM (ANALYZE)")
    print(f"  load total (inserts, indexes, VACUUM ANALYZE): {time.perf_counter() - started:.1f} s")


# The restricted contact --------------------------------------------------------------------


def account_id_of(session: Session, name: str) -> int:
    account = session.scalars(select(Account).where(Account.name == name)).one_or_none()
    if account is None:
        raise SystemExit(f"no account {name!r}: run without --reuse to load the database")
    return account.id


def ensure_contact(session: Session, account_id: int) -> int:
    """The restricted contact: one level-2 group (with sub-groups) and a few root computers."""
    existing = session.scalars(
        select(Contact).where(Contact.account_id == account_id, Contact.name == CONTACT_NAME)
    ).one_or_none()
    if existing is not None:
        return existing.id
    level_two = session.execute(
        text(
            "SELECT g.id FROM computer_groups g JOIN computer_groups p ON p.id = g.parent_group_id"
            " WHERE g.account_id = :account AND p.parent_group_id IS NULL ORDER BY g.id LIMIT 1"
        ),
        {"account": account_id},
    ).scalar_one()
    singles = session.execute(
        text(
            "SELECT id FROM computers WHERE account_id = :account AND group_id IS NULL"
            " ORDER BY id LIMIT :limit"
        ),
        {"account": account_id, "limit": SINGLE_COMPUTERS},
    ).scalars()
    role = create_role(
        session,
        account_id=account_id,
        name=ROLE_NAME,
        rights=RoleRights(all_computers=False, can_view_other_computers=False),
    )
    role.computer_groups.append(RoleComputerGroup(group_id=level_two))
    role.computers.extend(RoleComputer(computer_id=computer_id) for computer_id in singles)
    session.flush()
    contact = add_contact(
        session,
        account_id=account_id,
        box=SecretBox("bench"),
        name=CONTACT_NAME,
        email_address="bench.contact@example.com",
        role_id=role.id,
    )
    return contact.id


def contact_scope(session: Session, account_id: int, contact_id: int) -> Scope:
    contact = session.get(Contact, contact_id)
    assert contact is not None
    return scope_for(load_role(session, account_id, contact.role_id), account_id)


def auditor_scope(session: Session, account_id: int) -> Scope:
    role_id = session.scalars(
        select(Role.id).where(Role.account_id == account_id, Role.name == "Auditor")
    ).one()
    return scope_for(load_role(session, account_id, role_id), account_id)


# Measuring -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    name: str
    rows: str
    median_ms: float
    p95_ms: float
    min_ms: float
    #: Median CPU time of this process: the Python (ORM, driver) share, whatever the load.
    client_cpu_ms: float


def measure(
    factory: sessionmaker[Session], name: str, work: Callable[[Session], str], repetitions: int
) -> Figure:
    """Median and p95 of ``work``, each repetition in a fresh session, after two warm-ups."""
    times: list[float] = []
    cpu_times: list[float] = []
    rows = ""
    for attempt in range(repetitions + 2):
        with factory() as session:
            started, cpu_started = time.perf_counter(), time.process_time()
            rows = work(session)
            elapsed = (time.perf_counter() - started) * 1000
            cpu = (time.process_time() - cpu_started) * 1000
        if attempt >= 2:
            times.append(elapsed)
            cpu_times.append(cpu)
    p95 = statistics.quantiles(times, n=20, method="inclusive")[18]
    median_cpu = statistics.median(cpu_times)
    return Figure(name, rows, statistics.median(times), p95, min(times), median_cpu)


def print_figures(figures: list[Figure]) -> None:
    width = max(len(figure.name) for figure in figures)
    print(
        f"  {'measurement':<{width}}  {'rows':>26}  {'median':>9}  {'p95':>9}  {'min':>9}"
        f"  {'client CPU':>10}"
    )
    for f in figures:
        print(
            f"  {f.name:<{width}}  {f.rows:>26}  {f.median_ms:>6.1f} ms"
            f"  {f.p95_ms:>6.1f} ms  {f.min_ms:>6.1f} ms  {f.client_cpu_ms:>7.1f} ms"
        )


def explain(engine: Engine, statement: str, parameters: Any) -> str:
    with engine.connect() as connection:
        plan = connection.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, parameters
        ).scalars()
        return "\n".join(f"    {line}" for line in plan)


# Measuring: the figures ------------------------------------------------------------------


@dataclass(frozen=True)
class Bench:
    """What every measurement needs: the database, the two scopes and the report window."""

    engine: Engine
    factory: sessionmaker[Session]
    account_id: int
    contact_id: int
    restricted: Scope
    auditor: Scope
    start: datetime
    end: datetime


def prepare(engine: Engine, factory: sessionmaker[Session]) -> Bench:
    with factory() as session, session.begin():
        account_id = account_id_of(session, BENCH_ACCOUNT)
        contact_id = ensure_contact(session, account_id)
    with factory() as session:
        # The window ends at the newest event, so a database loaded days ago measures the same.
        end = session.execute(
            text(
                "SELECT max(time) + interval '1 second' FROM security_events"
                " WHERE account_id = :account"
            ),
            {"account": account_id},
        ).scalar_one()
        return Bench(
            engine=engine,
            factory=factory,
            account_id=account_id,
            contact_id=contact_id,
            restricted=contact_scope(session, account_id, contact_id),
            auditor=auditor_scope(session, account_id),
            start=end - timedelta(days=WINDOW_DAYS),
            end=end,
        )


def run_figures(bench: Bench, events_sql: tuple[str, Any], repetitions: int) -> list[Figure]:
    """Figures a) to e) of the issue, on the ``storage.scoped`` functions."""
    restricted, auditor, start, end = bench.restricted, bench.auditor, bench.start, bench.end

    def computers(session: Session) -> str:
        return str(len(permitted_computers(session, restricted)))

    def events(session: Session) -> str:
        return str(len(permitted_events(session, restricted, start, end)))

    def both(session: Session) -> str:
        return f"{computers(session)} + {events(session)}"

    def side_by_side(_session: Session) -> str:
        shown = read_concurrently(
            bench.factory,
            [
                lambda s: permitted_computers(s, restricted),
                lambda s: permitted_events(s, restricted, start, end),
            ],
        )
        return f"{len(shown[0])} + {len(shown[1])}"

    def resolved_both(session: Session) -> str:
        scope = contact_scope(session, bench.account_id, bench.contact_id)
        shown = (
            len(permitted_computers(session, scope)),
            len(permitted_events(session, scope, start, end)),
        )
        return f"{shown[0]} + {shown[1]}"

    def counts(scope: Scope) -> Callable[[Session], str]:
        def work(session: Session) -> str:
            c = count_scope(session, scope, start, end)
            return f"{c.computers}/{c.events}/{c.alerts}/{c.system_events}"

        return work

    def auditor_events(session: Session) -> str:
        return str(len(permitted_events(session, auditor, start, end, limit=500)))

    def driver_only(_session: Session) -> str:
        with bench.engine.connect() as connection:
            raw = connection.connection.driver_connection
            assert raw is not None
            with raw.cursor() as cursor:  # psycopg's defaults: text format, tuples
                cursor.execute(*events_sql)
                return str(len(cursor.fetchall()))

    cases: list[tuple[str, Callable[[Session], str]]] = [
        ("a) restricted permitted_computers", computers),
        ("b) restricted permitted_events 7d", events),
        ("b') same SQL, psycopg cursor, tuples", driver_only),
        ("c) restricted a + b, one after the other", both),
        ("c'') a and b side by side (build_report)", side_by_side),
        ("c') load_role + scope_for + a + b", resolved_both),
        ("d) restricted count_scope 7d", counts(restricted)),
        ("e) auditor permitted_events limit 500", auditor_events),
        ("e') auditor count_scope 7d", counts(auditor)),
    ]
    return [measure(bench.factory, name, work, repetitions) for name, work in cases]


def report(bench: Bench, repetitions: int, title: str) -> Figure:
    """Measure, print the figures and the plan of b); return c''), what a report waits for."""
    statement = events_statement(bench.restricted, bench.start, bench.end)
    compiled = statement.compile(
        dialect=bench.engine.dialect, compile_kwargs={"render_postcompile": True}
    )
    events_sql = (str(compiled), compiled.params)
    load_before = load_average()
    figures = run_figures(bench, events_sql, repetitions)
    print(
        f"{title} ({repetitions} repetitions each, warm, a fresh session each;"
        f" load average {load_before} before, {load_average()} after):"
    )
    print_figures(figures)
    for figure in figures[3:5]:
        met = figure.median_ms < TARGET_MS and figure.p95_ms < TARGET_MS
        print(
            f"  target < {TARGET_MS:.0f} ms (median and p95), {figure.name}: "
            f"{'met' if met else 'NOT met'}"
        )
    issue = figures[4]
    print("  EXPLAIN (ANALYZE, BUFFERS) of b), the statement permitted_events sent:")
    print(explain(bench.engine, *events_sql))
    return issue


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def benchmark(engine: Engine, factory: sessionmaker[Session], repetitions: int) -> None:
    bench = prepare(engine, factory)
    # As a worker process does once it has started (actors/worker_main.py): without it, a
    # full collection walks every loaded module's objects in some repetitions (+50-70 ms).
    gc.collect()
    gc.freeze()
    with factory() as session:
        total = session.execute(
            text("SELECT count(*) FROM computers WHERE account_id = :a"), {"a": bench.account_id}
        ).scalar_one()
        covered = count_scope(session, bench.restricted, bench.start, bench.end).computers
    print(
        f"restricted contact: group {sorted(bench.restricted.group_ids)} with its sub-groups"
        f" and computers {sorted(bench.restricted.computer_ids)}: {covered} of {total}"
        f" computers ({100 * covered / total:.2f} %)"
    )
    print(f"window: {bench.start:%Y-%m-%d %H:%M:%S} to {bench.end:%Y-%m-%d %H:%M:%S}")
    print("count_scope rows are computers/events/alerts/system events")
    title = "storage.scoped as it is"
    stages = [(title, report(bench, repetitions, title))]
    print("c'') a restricted contact's computers and 7-day events, as build_report reads them:")
    for title, figure in stages:
        print(f"  {title:<56} median {figure.median_ms:>7.1f} ms  p95 {figure.p95_ms:>7.1f} ms")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the script")
    parser.add_argument("--reuse", action="store_true", help="skip generation: already loaded")
    parser.add_argument("--computers", type=int)
    parser.add_argument("--groups", type=int)
    parser.add_argument("--events", type=int)
    parser.add_argument("--repetitions", type=int, default=30)
    args = parser.parse_args(argv)
    base = QUICK if args.quick else FULL
    sizes = Sizes(
        computers=args.computers or base.computers,
        groups=args.groups or base.groups,
        events=args.events or base.events,
        alerts=base.alerts,
        system_events=base.system_events,
    )
    if not args.reuse:
        print(f"loading {sizes} (+ {OTHER_SHARE:.0%} of it in {OTHER_ACCOUNT!r}) into {args.url}")
    engine = make_engine(args.url) if args.reuse else fresh_database(args.url)
    factory = make_session_factory(engine)
    try:
        if not args.reuse:
            generate(engine, factory, sizes)
        print_row_counts(engine)
        benchmark(engine, factory, args.repetitions)
    finally:
        engine.dispose()


def print_row_counts(engine: Engine) -> None:
    tables = (
        "computer_groups",
        "policies",
        "computers",
        "computer_tags",
        "security_events",
        "alerts",
        "system_events",
    )
    query = " UNION ALL ".join(
        f"SELECT '{t}', a.name, count(*) FROM {t} JOIN accounts a ON a.id = {t}.account_id"
        f" GROUP BY a.name"
        for t in tables
    )
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(query + " ORDER BY 1, 2").all()
        depth = connection.exec_driver_sql(
            "WITH RECURSIVE t(id, depth) AS (SELECT id, 1 FROM computer_groups"
            " WHERE parent_group_id IS NULL UNION ALL SELECT g.id, t.depth + 1"
            " FROM computer_groups g JOIN t ON g.parent_group_id = t.id) SELECT max(depth) FROM t"
        ).scalar()
    print(f"row counts (group tree depth {depth}):")
    for table, account, count in rows:
        print(f"  {table:<16} {account:<11} {count:>10,}")


if __name__ == "__main__":
    main()
