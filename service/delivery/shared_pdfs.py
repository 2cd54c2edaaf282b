"""PDFs printed by one worker process and read by the others delivering the same run.

Render sharing starts in each process's memory (``service.delivery.render_cache``); with several
worker processes, on one machine or many, each would still print every distinct document
of a run it meets. A process that prints a document stores it here under the run and the
HTML's content hash; a process that needs the same document reads it instead of printing
it. Two processes that meet a new document at the same moment may both print it (the first
row stays): a wasted render, never a wrong PDF. The rows go when the run finishes
(``service.delivery.ledger.finish_run_if_done``) or with the run.

They are the shared, unencrypted PDFs, as the data they are built from is unencrypted in the
same database; per-contact encryption happens after, in the worker, as before.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import RenderedPdf

__all__ = ["store_pdf", "stored_pdf"]

log = logging.getLogger(__name__)


def stored_pdf(session: Session, *, account_id: int, run_id: int, key: str) -> bytes | None:
    """The PDF another process printed for this run and content key, if any."""
    return session.scalar(
        select(RenderedPdf.pdf).where(
            RenderedPdf.account_id == account_id,
            RenderedPdf.run_id == run_id,
            RenderedPdf.pdf_key == key,
        )
    )


def store_pdf(
    session: Session, *, account_id: int, run_id: int, key: str, pdf: bytes, now: datetime
) -> None:
    """Keep ``pdf`` for the run's other workers; a row another process stored first stays."""
    try:
        with session.begin_nested():
            session.add(
                RenderedPdf(run_id=run_id, pdf_key=key, account_id=account_id, pdf=pdf, created=now)
            )
    except IntegrityError:
        log.debug("run %s: PDF %s was stored by another process first", run_id, key[:12])
