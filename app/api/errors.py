"""Domain and infrastructure errors as the contract's status codes and `detail`."""

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.db import DATABASE_UNAVAILABLE_ERRORS
from app.services import messages
from app.services.errors import (
    BadRequest,
    Conflict,
    DomainError,
    Forbidden,
    InvalidCredentials,
    LinkRequired,
    NotFound,
    ProviderUnavailable,
    TooManyRequests,
    TwoFactorRequired,
)

logger = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[DomainError], int] = {
    BadRequest: 400,
    InvalidCredentials: 403,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooManyRequests: 429,
    TwoFactorRequired: 401,
    LinkRequired: 409,
    ProviderUnavailable: 502,
}


class ErrorMessage(BaseModel):
    """Every error answer but a 422: `{"detail": "<the contract's text>"}`."""

    detail: str


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI answers of a route besides its success and 422, with their body."""
    return {
        status: {"model": ErrorMessage, "description": HTTPStatus(status).phrase}
        for status in statuses
    }


def html_route_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The same answers for a route whose success is HTML: FastAPI would file a `model`
    under the route's media type, but errors are JSON whatever the route serves (the
    schema itself is registered by the other routes' `responses`)."""
    schema = {"$ref": "#/components/schemas/ErrorMessage"}
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {"application/json": {"schema": schema}},
        }
        for status in statuses
    }


# What can answer before a route's own rule is asked. The caller behind a bearer token:
# none (401), invalid or revoked (403), its user gone (404) or inactive (400).
AUTHENTICATED = (400, 401, 403, 404)
# A body that cannot be decoded (400) or is over MAX_REQUEST_BODY_BYTES (413).
WITH_BODY = (400, 413)
# Over a rate limit (429, with Retry-After).
RATE_LIMITED = (429,)
# The database cannot be reached (503, with Retry-After).
USES_DATABASE = (503,)


def _printable(part: Any) -> Any:
    # A location can name a key the client sent; a lone surrogate in it could not be
    # encoded into the answer.
    if isinstance(part, str):
        return part.encode("utf-8", "backslashreplace").decode("utf-8")
    return part


def validation_details(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Where, what and which rule: never the submitted value (a password, 10 MB of
    text, a NaN that JSON cannot carry) nor its context."""
    return [
        {
            "loc": [_printable(part) for part in error["loc"]],
            "msg": _printable(error["msg"]),
            "type": error["type"],
        }
        for error in errors
    ]


async def validation_error_handler(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": validation_details(exc.errors())}, status_code=422)


async def domain_error_handler(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    body: dict[str, str] = {"detail": exc.detail}
    if isinstance(exc, LinkRequired):
        body |= {"link_token": exc.link_token, "email": exc.email, "provider": exc.provider}
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
    if isinstance(exc, TwoFactorRequired):
        # The one answer with more than `detail`: clients that know two-factor read the
        # challenge; the template's, which never meet it (two-factor off), are unchanged.
        body["challenge"] = exc.challenge
        headers = {"WWW-Authenticate": "Bearer"}
    return JSONResponse(body, status_code=STATUS_BY_ERROR[type(exc)], headers=headers)


async def database_unavailable_handler(request: Request, exc: Exception) -> JSONResponse:
    # Reached when the database cannot be reached or answered with a connection-level
    # error; clients get a retryable 503 instead of a bare 500.
    logger.error("Database error on %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse(
        {"detail": messages.DATABASE_UNAVAILABLE},
        status_code=503,
        headers={"Retry-After": "5"},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    for error in STATUS_BY_ERROR:
        app.add_exception_handler(error, domain_error_handler)
    for unavailable in DATABASE_UNAVAILABLE_ERRORS:
        app.add_exception_handler(unavailable, database_unavailable_handler)
