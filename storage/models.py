"""The tables of reportd, as SQLAlchemy 2 typed models.

Every row that belongs to an account carries ``account_id``, and every query in
``storage.scoped`` and ``storage.tasks`` filters on it. Column names follow the console API's
names (snake_cased) where it has the same thing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.criteria import CriteriaJSON, SmartFolderCriteria
from storage.types import BigId, UTCDateTime

#: Constraint names that Alembic can address on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table = cls.__dict__.get("__table__")
        if table is not None and [c.name for c in table.primary_key.columns] == ["id"]:
            # An ID is never handed out again (SQLite reuses the highest one after a delete
            # without AUTOINCREMENT): a task naming a deleted contact's ID must not mail the
            # next contact added. PostgreSQL's sequences never reuse. Migration 0016.
            table.dialect_options["sqlite"]["autoincrement"] = True


class Account(Base):
    """A tenant: everything below belongs to exactly one account."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    region: Mapped[str] = mapped_column(String(64), default="")
    created: Mapped[datetime] = mapped_column(default=utcnow)


class Role(Base):
    """A role of the console's rights model: Computer, Policy, User and Other Rights.

    Computer and Policy Rights are columns because clearance filtering reads them in SQL;
    Other Rights are a JSON map from feature to level (hide, view-only, full, custom).
    """

    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    urn: Mapped[str] = mapped_column(String(255), default="")
    immutable: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_user_interface: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_web_service: Mapped[bool] = mapped_column(Boolean, default=False)

    # Computer Rights: one selection (all, or groups and computers) for every right.
    all_computers: Mapped[bool] = mapped_column(Boolean, default=True)
    can_view_computers: Mapped[bool] = mapped_column(Boolean, default=True)
    can_edit_computer_properties: Mapped[bool] = mapped_column(Boolean, default=False)
    can_delete_computers: Mapped[bool] = mapped_column(Boolean, default=False)
    can_dismiss_alerts: Mapped[bool] = mapped_column(Boolean, default=False)
    can_tag_computers: Mapped[bool] = mapped_column(Boolean, default=False)
    can_view_other_computers: Mapped[bool] = mapped_column(Boolean, default=True)
    can_view_not_related_to_computers: Mapped[bool] = mapped_column(Boolean, default=True)
    can_create_new_computers: Mapped[bool] = mapped_column(Boolean, default=False)
    can_add_and_remove_computer_groups: Mapped[bool] = mapped_column(Boolean, default=False)
    can_import_computers: Mapped[bool] = mapped_column(Boolean, default=False)
    can_manage_directories: Mapped[bool] = mapped_column(Boolean, default=False)
    can_manage_v_centers: Mapped[bool] = mapped_column(Boolean, default=False)
    can_manage_cloud_accounts: Mapped[bool] = mapped_column(Boolean, default=False)

    # Policy Rights: rights on a selected policy cover its child policies.
    all_policies: Mapped[bool] = mapped_column(Boolean, default=True)
    can_view_policies: Mapped[bool] = mapped_column(Boolean, default=True)
    can_edit_policy_properties: Mapped[bool] = mapped_column(Boolean, default=False)
    can_delete_policies: Mapped[bool] = mapped_column(Boolean, default=False)
    can_view_other_policies: Mapped[bool] = mapped_column(Boolean, default=True)
    can_create_new_policies: Mapped[bool] = mapped_column(Boolean, default=False)
    can_import_policies: Mapped[bool] = mapped_column(Boolean, default=False)

    # User Rights: a preset, or custom with these rights.
    user_rights: Mapped[str] = mapped_column(String(32), default="change-own-password")
    can_view_users: Mapped[bool] = mapped_column(Boolean, default=False)
    can_create_new_users: Mapped[bool] = mapped_column(Boolean, default=False)
    can_edit_user_properties: Mapped[bool] = mapped_column(Boolean, default=False)
    can_delete_users: Mapped[bool] = mapped_column(Boolean, default=False)
    can_view_roles: Mapped[bool] = mapped_column(Boolean, default=False)
    can_create_new_roles: Mapped[bool] = mapped_column(Boolean, default=False)
    can_edit_role_properties: Mapped[bool] = mapped_column(Boolean, default=False)
    can_delete_roles: Mapped[bool] = mapped_column(Boolean, default=False)
    can_only_manipulate_users_with_equal_or_lesser_rights: Mapped[bool] = mapped_column(
        Boolean, default=False
    )

    #: Other Rights: feature key -> "hide" | "view-only" | "full" | "custom".
    other_rights: Mapped[dict[str, Any]] = mapped_column(default=dict)

    created: Mapped[datetime] = mapped_column(default=utcnow)

    computer_groups: Mapped[list[RoleComputerGroup]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )
    computers: Mapped[list[RoleComputer]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )
    policies: Mapped[list[RolePolicy]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class RoleComputerGroup(Base):
    """A computer group selected in a role's Computer Rights (its sub-groups included)."""

    __tablename__ = "role_computer_groups"

    role_id: Mapped[int] = mapped_column(
        ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[int] = mapped_column(
        ForeignKey("computer_groups.id", ondelete="CASCADE"), primary_key=True
    )


class RoleComputer(Base):
    """A computer selected in a role's Computer Rights."""

    __tablename__ = "role_computers"

    role_id: Mapped[int] = mapped_column(
        ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True
    )
    computer_id: Mapped[int] = mapped_column(
        ForeignKey("computers.id", ondelete="CASCADE"), primary_key=True
    )


class RolePolicy(Base):
    """A policy selected in a role's Policy Rights (its child policies included)."""

    __tablename__ = "role_policies"

    role_id: Mapped[int] = mapped_column(
        ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True
    )
    policy_id: Mapped[int] = mapped_column(
        ForeignKey("policies.id", ondelete="CASCADE"), primary_key=True
    )


def _username_default(context: Any) -> Any:
    return context.get_current_parameters()["email_address"]


class User(Base):
    """A person who signs in: one identity (address, password) across accounts.

    What is the person's own lives here (name, numbers, language, password, second factor,
    report password, sign-in counters); what one account says about them (role, active,
    description) lives in their :class:`Membership` of that account. Only hashes of the
    password are kept (argon2id); the TOTP secret and the report password are sealed with
    the settings' secret key, because they must be read back.
    """

    __tablename__ = "users"
    __table_args__ = (Index("ix_users_username", "username", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email_address: Mapped[str] = mapped_column(String(320), unique=True)
    #: The sign-in name the API shows; the email address unless another is given.
    username: Mapped[str] = mapped_column(String(320), default=_username_default)
    #: The full name (the API's ``fullName``).
    name: Mapped[str] = mapped_column(String(255))
    phone_number: Mapped[str] = mapped_column(String(64), default="")
    mobile_number: Mapped[str] = mapped_column(String(64), default="")
    pager_number: Mapped[str] = mapped_column(String(64), default="")
    locale: Mapped[str] = mapped_column(String(16), default="en-US")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    time_format: Mapped[str] = mapped_column(String(2), default="24")
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    last_password_change: Mapped[datetime | None] = mapped_column(default=None)
    last_sign_in: Mapped[datetime | None] = mapped_column(default=None)
    unsuccessful_sign_in_attempts: Mapped[int] = mapped_column(Integer, default=0)
    unlock_time: Mapped[datetime | None] = mapped_column(default=None)
    #: "none" or "local-totp" (the API's ``mfaType``).
    mfa_type: Mapped[str] = mapped_column(String(16), default="none")
    totp_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    #: The last TOTP time step accepted, so a code cannot be used twice.
    totp_last_step: Mapped[int | None] = mapped_column(Integer, default=None)
    report_pdf_password_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    report_pdf_password_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created: Mapped[datetime] = mapped_column(default=utcnow)


class Membership(Base):
    """A user's role in one account, and what that account says about them."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("account_id", "user_id"),
        Index("ix_memberships_user", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role_id: Mapped[int | None] = mapped_column(ForeignKey("roles.id", ondelete="SET NULL"))
    description: Mapped[str] = mapped_column(Text, default="")
    #: False: the user cannot sign in to this account nor receive its reports.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    read_only: Mapped[bool] = mapped_column(Boolean, default=False)
    receive_notifications: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime] = mapped_column(default=utcnow)


class UserToken(Base):
    """A one-time token for a user (a set-password link); only its SHA-256 is kept."""

    __tablename__ = "user_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    expires: Mapped[datetime]
    used: Mapped[datetime | None] = mapped_column(default=None)


class RecoveryCode(Base):
    """A one-time second-factor recovery code; only its SHA-256 is kept."""

    __tablename__ = "user_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    used: Mapped[datetime | None] = mapped_column(default=None)


class ConsoleSession(Base):
    """A signed-in browser of the web console: server-side, found by its cookie's hash.

    The cookie holds 256 random bits; only their SHA-256 is kept, so a copy of this table
    signs nobody in. ``account_id`` is the account the user works in now (they may switch);
    ``csrf_token`` is the synchronizer token every state-changing request must send back.
    Idle and absolute time-outs are measured from ``last_seen`` and ``created``.
    """

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), default=None
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(String(64), default="")
    created: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """A web service key; only the hash of its secret is kept."""

    __tablename__ = "api_keys"
    __table_args__ = (UniqueConstraint("account_id", "key_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    role_id: Mapped[int | None] = mapped_column(ForeignKey("roles.id", ondelete="SET NULL"))
    key_name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    locale: Mapped[str] = mapped_column(String(16), default="en-US")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    secret_hash: Mapped[str] = mapped_column(String(128), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    expiry_date: Mapped[datetime | None] = mapped_column(default=None)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    last_sign_in: Mapped[datetime | None] = mapped_column(default=None)


class ComputerGroup(Base):
    """A node of the computer group tree; ``parent_group_id`` None is a top-level group."""

    __tablename__ = "computer_groups"
    __table_args__ = (Index("ix_computer_groups_account_parent", "account_id", "parent_group_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    parent_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("computer_groups.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")


class Policy(Base):
    """A node of the policy tree; ``parent_id`` None is a base policy."""

    __tablename__ = "policies"
    __table_args__ = (Index("ix_policies_account_parent", "account_id", "parent_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("policies.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")


class Computer(Base):
    """A protected computer; ``group_id`` None means the root of the tree."""

    __tablename__ = "computers"
    __table_args__ = (
        # id in the index: the scope's group branch reads computer ids from the index alone.
        Index("ix_computers_account_group", "account_id", "group_id", "id"),
        Index("ix_computers_account_policy", "account_id", "policy_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("computer_groups.id", ondelete="SET NULL")
    )
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("policies.id", ondelete="SET NULL"))
    host_name: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    platform: Mapped[str] = mapped_column(String(255), default="")
    agent_status: Mapped[str] = mapped_column(String(32), default="active")
    last_agent_communication: Mapped[datetime | None] = mapped_column(default=None)
    #: Protection modules switched on (EventModule values), for the module usage report.
    modules: Mapped[list[str]] = mapped_column(default=list)


class ComputerTag(Base):
    """A tag on a computer, used by the reports' tag filter."""

    __tablename__ = "computer_tags"
    __table_args__ = (Index("ix_computer_tags_account_tag", "account_id", "tag"),)

    computer_id: Mapped[int] = mapped_column(
        ForeignKey("computers.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(255), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))


class SmartFolder(Base):
    """A saved computer query of an account: a name and criteria (``storage.criteria``).

    A report's ``computers-in-smart-folder`` filter selects the computers matching the
    criteria, within the recipient's clearance (``storage.scoped``). IDs are never reused
    (AUTOINCREMENT on SQLite; PostgreSQL's sequence never goes back), so a task naming a
    deleted folder can never pick up a new one that took its ID: it matches nothing.
    """

    __tablename__ = "smart_folders"
    __table_args__ = (UniqueConstraint("account_id", "name"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    criteria: Mapped[SmartFolderCriteria] = mapped_column(CriteriaJSON)
    created: Mapped[datetime] = mapped_column(default=utcnow)


class SecurityEvent(Base):
    """An event written by a protection module about one computer."""

    __tablename__ = "security_events"
    __table_args__ = (
        Index("ix_security_events_account_computer_time", "account_id", "computer_id", "time"),
        Index("ix_security_events_account_time", "account_id", "time"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    computer_id: Mapped[int] = mapped_column(ForeignKey("computers.id", ondelete="CASCADE"))
    module: Mapped[str] = mapped_column(String(32))
    time: Mapped[datetime]
    severity: Mapped[str] = mapped_column(String(16), default="medium")
    name: Mapped[str] = mapped_column(String(512), default="")
    action: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[str] = mapped_column(Text, default="")


class SystemEvent(Base):
    """A console event: about a computer, or about nothing in particular (``computer_id`` None)."""

    __tablename__ = "system_events"
    __table_args__ = (Index("ix_system_events_account_time", "account_id", "time"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    # CASCADE, not SET NULL: a row about a deleted computer must not turn into one "not
    # related to computers", which roles that could not see the computer may view.
    computer_id: Mapped[int | None] = mapped_column(
        ForeignKey("computers.id", ondelete="CASCADE"), index=True
    )
    time: Mapped[datetime]
    event_code: Mapped[int] = mapped_column(Integer, default=0)
    level: Mapped[str] = mapped_column(String(16), default="info")
    name: Mapped[str] = mapped_column(String(512), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(255), default="System")
    origin: Mapped[str] = mapped_column(String(255), default="")


class Alert(Base):
    """An alert, about a computer or not (``computer_id`` None)."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_account_raised", "account_id", "raised"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    # CASCADE, not SET NULL: a row about a deleted computer must not turn into one "not
    # related to computers", which roles that could not see the computer may view.
    computer_id: Mapped[int | None] = mapped_column(
        ForeignKey("computers.id", ondelete="CASCADE"), index=True
    )
    raised: Mapped[datetime]
    severity: Mapped[str] = mapped_column(String(16), default="warning")
    name: Mapped[str] = mapped_column(String(512), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    dismissed: Mapped[bool] = mapped_column(Boolean, default=False)


class Contact(Base):
    """Someone who cannot sign in but receives reports; sees what ``role_id`` could see.

    ``role_id`` becomes NULL when the role is deleted, and a NULL clearance sees nothing.
    The report password is kept encrypted with the settings' secret key.
    """

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    email_address: Mapped[str] = mapped_column(String(320))
    phone_number: Mapped[str] = mapped_column(String(64), default="")
    mobile_number: Mapped[str] = mapped_column(String(64), default="")
    pager_number: Mapped[str] = mapped_column(String(64), default="")
    locale: Mapped[str] = mapped_column(String(16), default="en-US")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    role_id: Mapped[int | None] = mapped_column(ForeignKey("roles.id", ondelete="SET NULL"))
    report_pdf_password_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    report_pdf_password_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created: Mapped[datetime] = mapped_column(default=utcnow)


class ReportRun(Base):
    """One report sent to a list of recipients; its deliveries carry the per-recipient state.

    ``period_start``/``period_end`` is the data window, fixed when the run is created (for a
    scheduled task, from the occurrence), so a late worker still reports the right days.
    ``finished`` is set once every delivery is final.
    """

    __tablename__ = "report_runs"
    __table_args__ = (
        UniqueConstraint("scheduled_task_id", "occurrence"),
        Index("ix_report_runs_account_created", "account_id", "created"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    report_type: Mapped[str] = mapped_column(String(64))
    #: Format, classification, filters, time range: the report's parameters as given.
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    triggered_by: Mapped[str] = mapped_column(String(255))
    scheduled_task_id: Mapped[int | None] = mapped_column(Integer, default=None)
    occurrence: Mapped[datetime | None] = mapped_column(default=None)
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    created: Mapped[datetime] = mapped_column(default=utcnow)
    finished: Mapped[datetime | None] = mapped_column(default=None)
    total: Mapped[int] = mapped_column(Integer, default=0)
    sent: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    #: The last delivery id the sliced fan-out queued (``service.delivery.fanout``); None before it.
    fanout_cursor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    #: When the fan-out last queued a slice while some were left; None once all are queued.
    fanout_at: Mapped[datetime | None] = mapped_column(default=None)
    #: Deliveries left out because their report held nothing (``skipIfEmpty``).
    skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class RenderedPdf(Base):
    """A run's printed PDF, for every worker process that delivers the run.

    A process keeps its own PDFs in memory (``service.delivery.render_cache``); this table is how a
    process meets a document another one already printed and reads it instead of printing it
    again. Keyed by the run and the HTML's content hash; deleted when the run finishes.
    """

    __tablename__ = "rendered_pdfs"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("report_runs.id", ondelete="CASCADE"), primary_key=True
    )
    pdf_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    created: Mapped[datetime] = mapped_column(default=utcnow)


class Delivery(Base):
    """One recipient's copy of a run: pending -> rendering -> sending -> sent, or failed, or
    skipped (its report held nothing and the run asked to leave such out).

    A worker owns a delivery while ``lease_until`` is in the future and ``claim_token`` is
    its own; a lapsed lease lets the reconciler hand it to another. ``possible_duplicate``
    is set when a delivery is sent again after an attempt whose outcome is unknown.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        # A run's deliveries in ID order, all or one state's: the ledger's pages are read from
        # these alone (index-only), however deep the page.
        Index("ix_deliveries_run_id", "run_id", "id"),
        Index("ix_deliveries_run_state_id", "run_id", "state", "id"),
        Index("ix_deliveries_state_updated", "state", "updated"),
        # The runs list's recipient filter (a part of a name or address, any case): on
        # PostgreSQL a trigram index (pg_trgm) answers LIKE '%...%' without reading the table.
        Index(
            "ix_deliveries_recipient_trgm",
            func.lower(text("recipient_address")).label("address"),
            func.lower(text("recipient_name")).label("name"),
            postgresql_using="gin",
            postgresql_ops={"address": "gin_trgm_ops", "name": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    run_id: Mapped[int] = mapped_column(ForeignKey("report_runs.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), default=None
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    #: Who it was for when the run was created (the contact may be renamed or deleted later).
    recipient_name: Mapped[str] = mapped_column(String(255))
    recipient_address: Mapped[str] = mapped_column(String(320))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    claim_token: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    message_id: Mapped[str | None] = mapped_column(String(255), default=None)
    size: Mapped[int | None] = mapped_column(Integer, default=None)
    content_key: Mapped[str | None] = mapped_column(String(64), default=None)
    possible_duplicate: Mapped[bool] = mapped_column(Boolean, default=False)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    updated: Mapped[datetime] = mapped_column(default=utcnow)


class DeliveryTransition(Base):
    """A row for every state change of a delivery: the ledger behind ``reportd runs show``."""

    __tablename__ = "delivery_transitions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), index=True
    )
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")
