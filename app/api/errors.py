"""Domain and infrastructure errors as the contract's status codes and `detail`."""

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from app.services import messages
from app.services.errors import (
    BadRequest,
    Conflict,
    DomainError,
    Forbidden,
    InvalidCredentials,
    NotFound,
    TooManyRequests,
)

logger = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[DomainError], int] = {
    BadRequest: 400,
    InvalidCredentials: 403,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooManyRequests: 429,
}


async def domain_error_handler(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
    return JSONResponse(
        {"detail": exc.detail}, status_code=STATUS_BY_ERROR[type(exc)], headers=headers
    )


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
    for error in STATUS_BY_ERROR:
        app.add_exception_handler(error, domain_error_handler)
    for unavailable in (OperationalError, InterfaceError, PoolTimeoutError):
        app.add_exception_handler(unavailable, database_unavailable_handler)
