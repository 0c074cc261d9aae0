"""The FastAPI application: routers, error mapping, OpenAPI and the JSON 404."""

import asyncio
import gc
import logging
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.routing import Route, compile_path
from starlette.types import Receive, Scope, Send

from app.api.body_limit import BodySizeLimit
from app.api.errors import install_error_handlers
from app.api.routes import items, login, oidc, private, sessions, users, utils
from app.api.routes.prometheus import metrics
from app.core.config import settings
from app.core.security import dummy_hash
from app.db import DatabaseUnreachable, dispose_engines, engine, wait_for_database
from app.emails.sending import wait_for_pending_emails
from app.observability.error_reports import start_error_reports
from app.observability.metrics import route_template
from app.observability.request_log import RequestLog
from app.prestart import make_sqlite_folder, prepare_at_startup

logger = logging.getLogger(__name__)

# Where rxconfig.py puts Reflex's own routes, and those of them metrics name by path.
BACKEND_PATH = "/api"
REFLEX_PATHS = ("ping", "_health", "_upload")
HEALTH_CHECK = f"{settings.API_V1_STR}/utils/health-check/"


# The docs list the tags in the template's order, whatever the routing order; each
# entity's follows.
TAGS = [
    "login",
    "users",
    "utils",
    "items",
    "private",
    # devtools.scaffold adds each new entity's tag above this line.
]


def custom_generate_unique_id(route: APIRoute) -> str:
    """`{tag}-{function}`, as the template's generated clients expect."""
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    # A backend that cannot reach its database (a wrong DATABASE_URL, a database that
    # never came up) stops with one line instead of running unhealthy forever: the
    # orchestrator then restarts it, and a rolling deploy rolls back. Once started, an
    # outage is a 503 (app/api/errors.py), not an exit.
    make_sqlite_folder(settings.database_url)
    try:
        await wait_for_database(settings.DB_WAIT_SECONDS)
    except DatabaseUnreachable as error:
        safe_url = engine.url.render_as_string(hide_password=True)
        logger.critical(
            "The database at %s did not answer within %d s (DB_WAIT_SECONDS): %s",
            safe_url,
            settings.DB_WAIT_SECONDS,
            error,
        )
        logging.shutdown()
        # Not SystemExit: the ASGI server would log it as a startup traceback per worker.
        os._exit(3)
    await prepare_at_startup()
    # Computed now so the first login for an unknown email is not the slow one.
    await asyncio.get_running_loop().run_in_executor(None, dummy_hash)
    # Everything alive now (app, routes, compiled queries) lives as long as the
    # process: moving it out of the collector's reach keeps full collections short,
    # which otherwise show up as tail latency under load.
    gc.collect()
    gc.freeze()
    logger.info("API started (%s environment)", settings.ENVIRONMENT)
    yield
    await wait_for_pending_emails()
    await dispose_engines()
    logger.info("API stopped")


async def unmatched_api_path(request: Request) -> Response:
    """JSON answers for `/api/v1/...` paths no route serves.

    Mounted inside Reflex, everything unmatched would fall through to Reflex (plain
    or HTML 404), and Starlette's own 405 and trailing-slash redirect never happen
    because that mount always matches; so they are made here.
    """
    table: list[tuple[re.Pattern[str], set[str]]] = request.app.state.route_table
    path = request.url.path
    # As Starlette decides: the first path (in routing order) that matches answers, so
    # `/users/signup` allows POST even though `/users/{user_id}` would match it too.
    allowed = next((sorted(methods) for pattern, methods in table if pattern.match(path)), [])
    if allowed:
        return JSONResponse(
            {"detail": "Method Not Allowed"},
            status_code=405,
            headers={"Allow": ", ".join(allowed)},
        )
    alternative = path[:-1] if path.endswith("/") else f"{path}/"
    if any(pattern.match(alternative) for pattern, _ in table):
        return RedirectResponse(request.url.replace(path=alternative), status_code=307)
    return JSONResponse({"detail": "Not Found"}, status_code=404)


class UnmatchedApiPath:
    """`unmatched_api_path` as an ASGI app (a Route with a function takes only GET)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await unmatched_api_path(Request(scope, receive))
        await response(scope, receive, send)


def create_api() -> FastAPI:
    start_error_reports()
    api = FastAPI(
        title=settings.PROJECT_NAME,
        openapi_url=f"{settings.API_V1_STR}/openapi.json",
        docs_url="/api/docs",
        redoc_url="/api/redoc",
        generate_unique_id_function=custom_generate_unique_id,
        openapi_tags=[{"name": tag} for tag in TAGS],
        lifespan=lifespan,
    )
    api.add_middleware(BodySizeLimit, max_bytes=settings.MAX_REQUEST_BODY_BYTES)
    install_error_handlers(api)
    # Filled below, once every route exists.
    templates: dict[int, str] = {}
    fixed_paths = frozenset(
        [f"{BACKEND_PATH}/{path}" for path in REFLEX_PATHS]
        + ["/api/docs", "/api/docs/oauth2-redirect", "/api/redoc", api.openapi_url or ""]
    )

    def route_of(scope: Scope) -> str:
        return route_template(scope, templates, fixed_paths)

    if settings.OBSERVE_REQUESTS:
        # Added last, so outermost: it times the whole request, body limit and errors included.
        api.add_middleware(
            RequestLog,
            trust_header=settings.REFLEX_TRUSTED_PROXY_HOPS > 0,
            route_of=route_of,
            quiet_paths=frozenset(
                [f"{BACKEND_PATH}/ping", f"{BACKEND_PATH}/_health", "/api/metrics", HEALTH_CHECK]
            ),
            event_path=f"{BACKEND_PATH}/_event",
        )
    api.add_api_route("/api/metrics", metrics, methods=["GET"], include_in_schema=False)

    # Included straight into the app (no intermediate /api/v1 router): every level
    # of nesting is another round of matching on every request. Busiest first.
    routers = [
        items.router,
        users.router,
        login.router,
        sessions.router,
        utils.router,
        oidc.router,
        oidc.identities_router,
        # devtools.scaffold adds each new entity's router above this line.
    ]
    if settings.ENVIRONMENT == "local":
        routers.append(private.router)
    for router in routers:
        api.include_router(router, prefix=settings.API_V1_STR)
    # Every real path in routing order with the methods of all its routes (FastAPI makes
    # one route per method), for the fallback's 405 and redirect.
    paths: dict[str, set[str]] = {}
    for router in routers:
        for route in router.routes:
            if isinstance(route, APIRoute):
                paths.setdefault(settings.API_V1_STR + route.path, set()).update(
                    route.methods or ()
                )
    api.state.route_table = [(compile_path(path)[0], methods) for path, methods in paths.items()]
    for router in routers:
        templates.update(
            {
                id(route): settings.API_V1_STR + route.path
                for route in router.routes
                if isinstance(route, APIRoute)
            }
        )
    templates.update({id(route): route.path for route in api.routes if isinstance(route, APIRoute)})
    # Given as an ASGI app, the route takes every method (TRACE, QUERY, any a client
    # invents), so a method no route takes is a JSON 405 too, not Reflex's 404.
    api.router.routes.append(Route(f"{settings.API_V1_STR}/{{unmatched:path}}", UnmatchedApiPath()))
    return api


api = create_api()
