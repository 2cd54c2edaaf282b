"""Who is calling: the ``api-secret-key`` and ``api-version`` headers, resolved per request.

``api-version`` must be ``v1`` (anything else is 400, as a validation error); the secret must
belong to an active, unexpired key whose role allows the web service API (else 401). The
result is a :class:`~service.api.authz.Caller` with the key's account and role.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import Depends, Header, Request
from fastapi.security import APIKeyHeader
from sqlalchemy.orm import Session, sessionmaker

from service.api.authz import Caller
from service.api.keys import authenticate
from service.delivery.dispatch import Dispatcher
from service.delivery.invitations import Invitations
from service.directory.secretbox import SecretBox
from storage.db import transaction

#: The header the SDK sends its secret in.
SECRET_HEADER = "api-secret-key"

secret_header = APIKeyHeader(
    name=SECRET_HEADER, auto_error=False, scheme_name="DefaultAuthentication"
)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    """What the routers need, built once by ``create_app``."""

    sessions: sessionmaker[Session]
    box: SecretBox
    #: Hands committed runs to the workers (None: they wait for a reconciler).
    dispatcher: Dispatcher | None = None
    clock: Callable[[], datetime] = field(default=utcnow)
    #: Mails new administrators their set-password token (None: SMTP not configured).
    invitations: Invitations | None = None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with transaction(self.sessions) as session:
            yield session


def services(request: Request) -> Services:
    found = request.app.state.services
    assert isinstance(found, Services)
    return found


ServicesDep = Annotated[Services, Depends(services)]


def current_caller(
    request: Request,
    deps: ServicesDep,
    api_version: Annotated[Literal["v1"], Header(alias="api-version")],
    secret: Annotated[str | None, Depends(secret_header)],
) -> Caller:
    """The caller behind the request's headers, or 401."""
    with deps.transaction() as session:
        key = authenticate(session, secret, now=deps.clock())
    origin = request.client.host if request.client else ""
    return Caller(
        account_id=key.account_id,
        key_id=key.key_id,
        key_name=key.key_name,
        role=key.role,
        origin=origin,
    )


CallerDep = Annotated[Caller, Depends(current_caller)]
