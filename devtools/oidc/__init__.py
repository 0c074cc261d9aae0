"""The local OpenID provider of the sign-on tests (provider.mjs, the `oidc-provider`
package on Node), and a client for its login and consent pages without a browser."""

import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import httpx

from devtools.servers import ROOT, serve_on_free_port, start_logged, stop_process_group, tool_path

SCRIPT = ROOT / "devtools/oidc/provider.mjs"
PACKAGE = ROOT / ".tools/node_modules/oidc-provider/package.json"
# What provider.mjs registers.
CLIENT_ID = "full-stack-reflex"
CLIENT_SECRET = "test-client-secret"
# The loopback origin its client may be sent back to, on any port (RFC 8252, 7.3).
CALLBACK_ORIGIN = "http://127.0.0.1"


@dataclass(frozen=True)
class LocalProvider:
    issuer: str
    log: Path


def missing() -> str | None:
    """What is missing to run the provider here, as a sentence; None if nothing."""
    if shutil.which("node", path=tool_path()) is None:
        return "the sign-on tests need Node.js (bash scripts/setup.sh installs it into .tools)"
    if not PACKAGE.exists():
        return "the sign-on tests need oidc-provider in .tools (bash scripts/setup.sh installs it)"
    return None


@contextmanager
def local_provider(work: Path) -> Iterator[LocalProvider]:
    """provider.mjs on a free loopback port until the block ends."""
    log = work / "oidc-provider.log"
    env = {"PATH": tool_path(), "NODE_NO_WARNINGS": "1"}

    def start(port: int) -> subprocess.Popen[bytes]:
        return start_logged(["node", str(SCRIPT), str(port)], env, log)

    process, port = serve_on_free_port(
        start,
        lambda port: f"http://127.0.0.1:{port}/.well-known/openid-configuration",
        log,
        30,
        name="oidc-provider",
    )
    try:
        yield LocalProvider(f"http://127.0.0.1:{port}", log)
    finally:
        stop_process_group(process)


_FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')
_ABORT = re.compile(r'href="([^"]*abort[^"]*)"')
_PROMPT = re.compile(r'name="prompt" value="(\w+)"')


async def sign_in_at_provider(authorization_url: str, login: str, *, consent: bool = True) -> str:
    """Go through the provider's pages as a browser would, from the authorization URL
    our app redirected to: log in as `login` (any password), then consent (or abort).
    The URL the provider finally sends the browser to (our callback), not followed."""
    async with httpx.AsyncClient(timeout=30) as browser:
        response = await browser.get(authorization_url)
        for _ in range(20):
            if response.is_redirect:
                target = urljoin(str(response.url), response.headers["location"])
                if not target.startswith(str(response.url.copy_with(path="/", query=None))):
                    return target
                response = await browser.get(target)
                continue
            response.raise_for_status()
            action = _FORM_ACTION.search(response.text)
            prompt = _PROMPT.search(response.text)
            assert action and prompt, f"not a login or consent page:\n{response.text[:2000]}"
            url = urljoin(str(response.url), unescape(action.group(1)))
            if prompt.group(1) == "login":
                form = {"prompt": "login", "login": login, "password": "any"}
            elif consent:
                form = {"prompt": "consent"}
            else:
                # The page's cancel link: the provider answers access_denied.
                abort = _ABORT.search(response.text)
                assert abort, response.text[:2000]
                response = await browser.get(urljoin(str(response.url), unescape(abort.group(1))))
                continue
            response = await browser.post(url, data=form)
    raise AssertionError("the provider kept redirecting")
