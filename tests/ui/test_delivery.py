"""The one-port server's caching, compression and paths, over HTTP (#26 part 4): what the
nginx image (docker/nginx/snippets/reflex-static.conf) sends for the same files."""

import re

import httpx
import pytest

from app.core.config import settings
from tests.ui.conftest import UiApp

pytestmark = pytest.mark.ui

IMMUTABLE = "public, max-age=31536000, immutable"
# What Chromium sends; Origin as a module script's request carries it.
BROWSER = {"accept-encoding": "gzip, deflate, br, zstd"}
# httpx decodes gzip (not brotli without the brotli package): for reading bodies.
GZIP = {"accept-encoding": "gzip"}
# Reflex's build leaves files under 256 bytes uncompressed (MIN_SIZE in its
# compress-static.js): a 60-byte chunk gains nothing from it.
COMPRESSED_FROM = 256


def vary_names(response: httpx.Response) -> list[str]:
    values = response.headers.get_list("vary")
    assert len(values) == 1, values
    return [name.strip().lower() for name in values[0].split(",")]


async def first_paint_assets(client: httpx.AsyncClient) -> list[str]:
    page = await client.get("/login", headers=GZIP)
    found = sorted(set(re.findall(r'"(/assets/[^"]+\.(?:js|css))"', page.text)))
    assert found, page.text[:2000]
    return found


async def test_canonical_pages_answer_without_a_redirect(ui_app: UiApp) -> None:
    async with httpx.AsyncClient(base_url=ui_app.url) as client:
        for path in ("/login", "/login/", "/signup", "/items", "/admin", "/login?next=x"):
            response = await client.get(path, headers=GZIP)
            assert response.status_code == 200, (path, response.headers)
            assert "<html" in response.text, path
        # A path that names no page is still the 404 page, not a folder listing.
        assert (await client.get("/assets")).status_code == 404


async def test_pages_are_revalidated_and_compressed(ui_app: UiApp) -> None:
    async with httpx.AsyncClient(base_url=ui_app.url) as client:
        for path in ("/", "/login", "/favicon.svg", "/no-such-page"):
            response = await client.get(path, headers={**BROWSER, "origin": ui_app.url})
            assert response.headers["cache-control"] == "no-cache", path
            assert vary_names(response).count("origin") <= 1, path
        login = await client.get("/login", headers=BROWSER)
        assert login.headers["content-encoding"] == "br"
        assert vary_names(login).count("accept-encoding") == 1
        # A client without brotli gets gzip, as from nginx.
        gzip = await client.get("/login", headers=GZIP)
        assert gzip.headers["content-encoding"] == "gzip"
        assert "<html" in gzip.text
        assert len(login.content) < int(gzip.headers["content-length"])
        # A repeat visit costs a 304.
        again = await client.get(
            "/login", headers={**BROWSER, "if-none-match": login.headers["etag"]}
        )
        assert again.status_code == 304
        assert again.headers["cache-control"] == "no-cache"


async def test_hashed_assets_are_cached_for_a_year(ui_app: UiApp) -> None:
    async with httpx.AsyncClient(base_url=ui_app.url) as client:
        for path in await first_paint_assets(client):
            response = await client.get(path, headers={**BROWSER, "origin": ui_app.url})
            assert response.status_code == 200, path
            assert response.headers["cache-control"] == IMMUTABLE, path
            encoding = response.headers.get("content-encoding")
            size = int(response.headers.get("content-length", COMPRESSED_FROM))
            assert encoding == "br" or (encoding is None and size < COMPRESSED_FROM), path
            assert vary_names(response) == ["accept-encoding", "origin"], path
        missing = await client.get("/assets/no-such-bundle-0000.js")
        assert missing.status_code == 404
        assert missing.headers["cache-control"] == "no-cache"


async def test_the_api_keeps_its_own_caching(ui_app: UiApp) -> None:
    async with httpx.AsyncClient(base_url=ui_app.url) as client:
        response = await client.get(
            f"{settings.API_V1_STR}/utils/health-check/", headers={"origin": ui_app.url}
        )
        assert response.status_code == 200
        assert "cache-control" not in response.headers
        assert vary_names(response) == ["origin"]


async def test_first_visit_carries_only_the_radix_components_the_app_uses(
    ui_app: UiApp,
) -> None:
    """No page renders a slider, a segmented control or a hover card: neither their code
    nor their CSS may reach /login (they did while Reflex imported all of Radix Themes
    for window.__reflex, and while the whole of components.css shipped); what /login
    renders keeps its styles. (Reflex's runtime names rt-SliderRoot to read values, so
    the slider is checked in the CSS alone.)"""
    async with httpx.AsyncClient(base_url=ui_app.url) as client:
        bodies = {
            path: (await client.get(path, headers=GZIP)).text
            for path in await first_paint_assets(client)
        }
    css = "".join(body for path, body in bodies.items() if path.endswith(".css"))
    javascript = "".join(body for path, body in bodies.items() if path.endswith(".js"))
    for used in (".rt-Button", ".rt-TextFieldRoot", ".rt-Heading", ".rt-r-size-2"):
        assert used in css, used
    for unused in ("rt-SliderRoot", "rt-SegmentedControlRoot", "rt-HoverCardContent"):
        assert unused not in css, unused
    for unused in ("rt-SegmentedControlRoot", "rt-HoverCardContent"):
        assert unused not in javascript, unused
    assert "react-helmet" not in javascript and "data-react-helmet" not in javascript
