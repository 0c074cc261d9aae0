"""How the one-port server (`reflex run --env prod`) delivers the built pages: as the nginx
image does (docker/nginx/snippets/reflex-static.conf), without a redirect per page.

- Hashed bundles (`/assets/<name>-<hash>.js|css`) are cached for a year, immutable: a new
  build gets new names. Pages and unhashed files are `no-cache`: revalidated (a cheap 304)
  on every visit, so a deploy is seen at once.
- `/login` is served `login/index.html` as `/login/` is, where Starlette's static files
  answer 307 to the slash first (600 ms of a first visit, Lighthouse measured).
- Reflex stacks three CORS layers (its own routes, the FastAPI app, the outer app), each
  adding `Origin` to `Vary`: one `Vary` header, each name once.

app/core/edge.py applies these, in the one layer around the whole ASGI app Reflex builds.
"""

from collections.abc import Callable
from pathlib import Path

from starlette.types import Scope

HASHED_PREFIX = "/assets/"
IMMUTABLE = b"public, max-age=31536000, immutable"
REVALIDATE = b"no-cache"


def merged_vary(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The headers with every `Vary` folded into the first one, each name once."""
    names: list[str] = []
    for name, value in headers:
        if name.lower() == b"vary":
            for part in value.decode("latin-1").split(","):
                token = part.strip()
                if token and token.lower() not in (known.lower() for known in names):
                    names.append(token)
    merged: list[tuple[bytes, bytes]] = []
    placed = False
    for name, value in headers:
        if name.lower() != b"vary":
            merged.append((name, value))
        elif not placed:
            merged.append((b"vary", ", ".join(names).encode("latin-1")))
            placed = True
    return merged


def cache_control(path: str, status: int) -> bytes:
    """The caching of a frontend answer: a year for a hashed bundle found, else revalidate."""
    if path.startswith(HASHED_PREFIX) and status in (200, 304):
        return IMMUTABLE
    return REVALIDATE


class Pages:
    """Which paths are the frontend's, and the canonical path of a prerendered page.

    `backend_path` (Reflex's `/api`) is not the frontend. `static_dir` is a callable
    because the build folder is only known (and filled) once Reflex has compiled.
    """

    def __init__(self, backend_path: str, static_dir: Callable[[], Path]) -> None:
        self.backend_prefix = backend_path.rstrip("/") + "/"
        self.static_dir = static_dir

    def is_frontend(self, path: str) -> bool:
        return not (path + "/").startswith(self.backend_prefix)

    def page_folder(self, path: str) -> bool:
        """Whether `path` (no trailing slash) names a prerendered page's folder."""
        name = path.strip("/")
        if not name or name.rsplit("/", 1)[-1].count(".") or ".." in name.split("/"):
            return False
        return (self.static_dir() / name / "index.html").is_file()

    def canonical(self, scope: Scope) -> Scope:
        """The scope of a page's GET with the slash Starlette's static files would
        redirect to (307) first; any other scope as it is."""
        path: str = scope["path"]
        if scope["method"] in ("GET", "HEAD") and not path.endswith("/") and self.page_folder(path):
            raw_path = scope.get("raw_path") or path.encode()
            return {**scope, "path": path + "/", "raw_path": raw_path + b"/"}
        return scope
