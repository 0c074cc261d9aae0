"""The two bare reference servers the benchmark compares against, served by uvicorn.

- `starlette_app`: fixed JSON, nothing else (the ceiling of the server stack).
- `fastapi_app`: one `SELECT 1` through a sync SQLModel session per request, the
  shape of every FastAPI-template route (sync `def`, thread pool, 5+10 pool).
"""

import os
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from sqlalchemy import text
from sqlmodel import Session, create_engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def fixed_json(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "service": "reference"})


starlette_app = Starlette(routes=[Route("/", fixed_json)])

_engine = create_engine(
    os.environ.get(
        "BENCH_REFERENCE_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1/postgres"
    )
)


def get_session() -> Iterator[Session]:
    with Session(_engine) as session:
        yield session


fastapi_app = FastAPI()


@fastapi_app.get("/")
def select_one(session: Annotated[Session, Depends(get_session)]) -> dict[str, Any]:
    # SQLModel types exec() for select() statements only; it runs a text() one all the same.
    return {"value": session.exec(text("SELECT 1")).one()[0]}  # type: ignore[call-overload]
