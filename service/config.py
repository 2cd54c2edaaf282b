"""One settings object for the whole service, read from ``REPORTD_*`` environment variables.

It is built once at an entry point (the CLI, the worker, the API) and passed down; nothing
reads the environment at import time.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Where the embedded default keeps its SQLite file and outbox.
DEFAULT_DATA_DIR = Path("data")
#: Mails larger than this are refused before sending (bytes).
DEFAULT_MAIL_MAX_BYTES = 20 * 1024 * 1024
#: Renders in flight per worker process; one Chromium render keeps more than one core busy.
DEFAULT_RENDER_SLOTS = 2
#: A console session unused this long (minutes) is over: the user signs in again.
DEFAULT_CONSOLE_IDLE_MINUTES = 30
#: A console session is over this long (hours) after sign-in, however busy.
DEFAULT_CONSOLE_ABSOLUTE_HOURS = 12


class SmtpSecurity(StrEnum):
    none = "none"
    starttls = "starttls"
    tls = "tls"


class Settings(BaseSettings):
    """Every knob of reportd; environment variables are ``REPORTD_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="REPORTD_", env_file=None, extra="ignore")

    data_dir: Path = DEFAULT_DATA_DIR
    #: SQLAlchemy URL; empty means a SQLite file in ``data_dir``.
    database_url: str = ""
    #: ``redis://...`` for Redis; empty means the in-process broker and worker.
    broker_url: str = ""

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_security: SmtpSecurity = SmtpSecurity.none
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_timeout: float = 30.0
    mail_from: str = "reportd <reports@reportd.invalid>"
    mail_max_bytes: int = DEFAULT_MAIL_MAX_BYTES
    #: The web console's address; a set-password mail links to ``<console_url>/set-password``.
    console_url: str = ""

    #: The web console (served by ``reportd api`` at ``/``): idle and absolute session time-outs.
    console_idle_minutes: int = Field(default=DEFAULT_CONSOLE_IDLE_MINUTES, gt=0)
    console_absolute_hours: int = Field(default=DEFAULT_CONSOLE_ABSOLUTE_HOURS, gt=0)

    #: Path to Chromium; empty means look for Debian's /usr/bin/chromium and friends.
    chromium_path: str = ""
    render_timeout: float = 60.0
    render_slots: int = DEFAULT_RENDER_SLOTS
    #: Recycle the browser context after this many renders.
    context_recycle_after: int = 50
    #: Restart the browser after this many renders, or when its memory passes the budget.
    #: Chromium grows ~1.2 MiB per render even with its context recycled; a restart (~0.5 s)
    #: every 100 keeps a worker's memory flat (docs/BENCHMARKS.md, render.py).
    browser_restart_after: int = 100
    browser_memory_budget_mb: int = 1536

    #: Key for data encrypted at rest (report passwords). Any string; it is stretched to a key.
    secret_key: SecretStr = Field(default=SecretStr("reportd-insecure-development-key"))

    #: Python logging level; services run with INFO (ops/reportd.env.example), the CLI quieter.
    log_level: str = "WARNING"
    #: JSON lines (for log collectors) instead of plain text.
    log_json: bool = True

    #: Deliveries pending this long are re-enqueued, and a worker's claim lease lasts this
    #: long (seconds); it must be longer than ``smtp_timeout``.
    reconcile_after: float = 600.0
    #: Attempts of one delivery before it fails for good (transient errors only).
    max_delivery_attempts: int = 5
    #: Seconds before the first retry of a delivery; doubled per attempt, up to 30 minutes.
    retry_min_backoff: float = Field(default=15.0, gt=0)

    @model_validator(mode="after")
    def _lease_outlasts_a_send(self) -> Settings:
        if self.reconcile_after <= self.smtp_timeout:
            raise ValueError(
                f"reconcile_after ({self.reconcile_after} s) must be longer than smtp_timeout "
                f"({self.smtp_timeout} s): a delivery's lease must outlast one SMTP attempt"
            )
        return self

    @property
    def smtp_configured(self) -> bool:
        """SMTP was named (``REPORTD_SMTP_HOST``), not left at the local sink's default."""
        return "smtp_host" in self.model_fields_set

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'reportd.sqlite3').resolve()}"
