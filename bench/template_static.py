"""The FastAPI template's built frontend served as a production host would: its files,
index.html for any other path (a single-page app), gzip on the fly like a proxy's
`gzip on`. `vite preview` sends everything uncompressed, which would count the
template's first visit at its raw size. Run by bench/lighthouse_side_by_side.py:

    TEMPLATE_DIST=<build folder> python -m uvicorn bench.template_static:app
"""

import os

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope


class SinglePageFiles(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            return await super().get_response(path, scope)
        except HTTPException as error:
            if error.status_code != 404:
                raise
            return await super().get_response("index.html", scope)


app = Starlette(
    routes=[Mount("/", SinglePageFiles(directory=os.environ["TEMPLATE_DIST"], html=True))],
    # Level 6: what nginx and most proxies are set to.
    middleware=[Middleware(GZipMiddleware, minimum_size=256, compresslevel=6)],
)
