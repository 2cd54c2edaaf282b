"""Errors as the SDK reads them: ``{"message": "..."}`` with the status the console uses.

=====================================  ======
``InvalidInput``, request validation   400
``Unauthorized`` (no or bad key)       401
``Forbidden`` (the role says no)       403
``NotFound`` (or another account's)    404
``InUse`` (still used: deleting it)    409
=====================================  ======

Validation messages name the field (``contact.emailAddress: ...``). Anything else is a bug and
answers 500 without details.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.api.authz import Forbidden
from service.api.keys import Unauthorized
from service.errors import InUse, InvalidInput, NotFound

#: Status of each error reportd raises on purpose.
STATUS: tuple[tuple[type[Exception], int], ...] = (
    (Unauthorized, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (InUse, 409),
    (InvalidInput, 400),
)


class ErrorMessage(BaseModel):
    """The SDK's error body."""

    message: str


#: The error answers every operation may give, for the OpenAPI document.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorMessage, "description": text}
    for code, text in (
        (400, "Invalid request: the message names the field."),
        (401, "Missing, unknown, disabled or expired api-secret-key."),
        (403, "The API key's role does not allow this."),
        (404, "No such object for this API key."),
    )
}


#: The answer of a deletion refused because the object is still used (added per route).
IN_USE_RESPONSE: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorMessage, "description": "Still in use: the message names its users."}
}


def _message(status: int, text: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"message": text})


def _where(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "request"


def validation_message(errors: Sequence[Any]) -> str:
    """``field: problem; field: problem`` from pydantic's error list."""
    shown = [f"{_where(e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in errors[:5]]
    return "; ".join(shown) or "invalid request"


def install(app: FastAPI) -> None:
    """Map reportd's errors and FastAPI's own to the SDK's error shape."""

    async def on_validation(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        return _message(400, validation_message(error.errors()))

    async def on_http(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        return _message(error.status_code, str(error.detail))

    def handler(status: int) -> Any:
        async def on_error(_request: Request, error: Exception) -> JSONResponse:
            return _message(status, str(error))

        return on_error

    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    for kind, status in STATUS:
        app.add_exception_handler(kind, handler(status))
