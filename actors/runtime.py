"""The worker process's collaborators (database, renderer, SMTP), built once and shared.

The entry point that starts a worker calls :func:`configure`; a worker started by the
``dramatiq`` command builds them lazily from the environment on the first message.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from service.config import Settings
from service.delivery.encryption import Encryptor
from service.delivery.mail import SmtpConfig
from service.delivery.pdf import PdfRenderer
from service.delivery.pipeline import Deps
from service.delivery.render_cache import RenderCache
from service.directory.secretbox import SecretBox
from storage.db import make_engine, make_session_factory

_deps: Deps | None = None
_lock = threading.Lock()


def build_deps(settings: Settings) -> Deps:
    """Everything a delivery needs, from the settings; one Chromium for the whole process."""
    engine = make_engine(settings.resolved_database_url())
    return Deps(
        sessions=make_session_factory(engine),
        box=SecretBox(settings.secret_key.get_secret_value()),
        renderer=PdfRenderer.from_settings(settings),
        smtp=SmtpConfig.from_settings(settings),
        mail_from=settings.mail_from,
        cache=RenderCache(),
        lease=timedelta(seconds=settings.reconcile_after),
        max_attempts=settings.max_delivery_attempts,
        min_backoff=timedelta(seconds=settings.retry_min_backoff),
        encrypt=Encryptor(),
    )


def configure(deps: Deps | None) -> None:
    """Use ``deps`` for the actors of this process (None forgets them)."""
    global _deps
    with _lock:
        _deps = deps


def built() -> Deps | None:
    """This process's collaborators if they were built, without building them."""
    with _lock:
        return _deps


def close(deps: Deps) -> None:
    """Stop what ``deps`` started: Chromium, the encryption helper, SMTP connections, the
    database pool. A worker stopping, or the API and CLI at exit, leave no child behind."""
    for stop in (
        getattr(deps.renderer, "close", None),
        getattr(deps.encrypt, "close", None),
        deps.connections.close_all,
        deps.sessions.kw["bind"].dispose,
    ):
        if stop is not None:
            stop()


def deps() -> Deps:
    global _deps
    with _lock:
        if _deps is None:
            _deps = build_deps(Settings())
        return _deps
