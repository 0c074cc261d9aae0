"""CORS on the real backend: REST calls, preflights and the UI's websocket handshake.

Local runs accept any origin (a LAN address, another dev port); production accepts
only FRONTEND_HOST and BACKEND_CORS_ORIGINS. rxconfig.py hands that list to Reflex,
which applies it to the REST API (Starlette's CORSMiddleware) and to the socket.io
server behind /api/_event (python-engineio checks the Origin of the handshake).
"""

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from app.core.config import settings
from tests.live.conftest import PRODUCTION_EXTRA_ORIGIN, PRODUCTION_FRONTEND, LiveBackend

API = settings.API_V1_STR
HEALTH = f"{API}/utils/health-check/"
ELSEWHERE = "https://evil.example.net"
pytestmark = pytest.mark.live


def simple_get(backend: LiveBackend, origin: str) -> httpx.Response:
    response = httpx.get(f"{backend.url}{HEALTH}", headers={"Origin": origin})
    assert response.status_code == 200
    return response


def preflight(backend: LiveBackend, origin: str) -> httpx.Response:
    return httpx.options(
        f"{backend.url}{API}/items/",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )


def allowed_origin(response: httpx.Response) -> list[str]:
    # A list, so that a header sent twice (Reflex adds CORS at several layers) shows.
    return response.headers.get_list("access-control-allow-origin")


async def websocket_opens(backend: LiveBackend, origin: str) -> bool:
    """Whether the engine.io handshake of the UI's event socket succeeds for `origin`."""
    url = backend.url.replace("http://", "ws://") + "/api/_event/?EIO=4&transport=websocket"
    try:
        async with connect(url, origin=Origin(origin), open_timeout=30) as socket:
            opening = await socket.recv()
    except InvalidStatus as refused:
        # engine.io closes the ASGI websocket before accepting it; granian answers 403.
        assert refused.response.status_code == 403
        return False
    # engine.io's OPEN packet ("0{...sid...}"): the socket really serves events.
    assert isinstance(opening, str) and opening.startswith("0{"), opening
    return True


LOCAL_ORIGINS = ["http://192.168.1.20:3000", ELSEWHERE]
PRODUCTION_ORIGINS = [PRODUCTION_FRONTEND, PRODUCTION_EXTRA_ORIGIN]
FOREIGN_ORIGINS = [
    ELSEWHERE,
    "http://localhost:3000",  # the local default: not a production origin
    f"{PRODUCTION_FRONTEND}:8443",  # same host, another port: another origin
    PRODUCTION_FRONTEND.replace("https://", "http://"),
]


@pytest.mark.parametrize("origin", LOCAL_ORIGINS)
def test_local_api_accepts_any_origin(live_backend: LiveBackend, origin: str) -> None:
    assert allowed_origin(simple_get(live_backend, origin)) in (["*"], [origin])
    answer = preflight(live_backend, origin)
    assert answer.status_code == 200
    assert allowed_origin(answer) == [origin]
    assert answer.headers["access-control-allow-credentials"] == "true"


@pytest.mark.parametrize("origin", LOCAL_ORIGINS)
async def test_local_websocket_accepts_any_origin(live_backend: LiveBackend, origin: str) -> None:
    assert await websocket_opens(live_backend, origin)


@pytest.mark.parametrize("origin", PRODUCTION_ORIGINS)
def test_production_api_accepts_its_own_origins(
    production_backend: LiveBackend, origin: str
) -> None:
    response = simple_get(production_backend, origin)
    assert allowed_origin(response) == [origin]
    assert response.headers["access-control-allow-credentials"] == "true"
    answer = preflight(production_backend, origin)
    assert answer.status_code == 200
    assert allowed_origin(answer) == [origin]
    assert "POST" in answer.headers["access-control-allow-methods"]


@pytest.mark.parametrize("origin", PRODUCTION_ORIGINS)
async def test_production_websocket_accepts_its_own_origins(
    production_backend: LiveBackend, origin: str
) -> None:
    assert await websocket_opens(production_backend, origin)


@pytest.mark.parametrize("origin", FOREIGN_ORIGINS)
def test_production_api_refuses_other_origins(production_backend: LiveBackend, origin: str) -> None:
    response = simple_get(production_backend, origin)
    assert allowed_origin(response) == []
    answer = preflight(production_backend, origin)
    assert answer.status_code == 400
    assert allowed_origin(answer) == []


@pytest.mark.parametrize("origin", FOREIGN_ORIGINS)
async def test_production_websocket_refuses_other_origins(
    production_backend: LiveBackend, origin: str
) -> None:
    assert not await websocket_opens(production_backend, origin)


async def test_production_websocket_without_origin_is_not_a_browser(
    production_backend: LiveBackend,
) -> None:
    # Non-browser clients send no Origin; CORS is about browsers, so they connect.
    url = production_backend.url.replace("http://", "ws://")
    async with connect(f"{url}/api/_event/?EIO=4&transport=websocket") as socket:
        assert str(await socket.recv()).startswith("0{")
