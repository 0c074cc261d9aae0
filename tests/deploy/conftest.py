"""The deployment stack of docs/diagrams.md, natively (no Docker), for tests/deploy.

PostgreSQL (a fresh database on TEST_DATABASE_URL's server), a private Redis, prestart,
two backends (`reflex run --env prod --backend-only`, sharing their state through Redis),
the exported static frontend, and Debian's nginx as the reverse proxy with the Traefik
labels' routing (tests/deploy/proxy.conf.template) and the frontend image's static rules.
Every server runs in its own process group on a free 127.0.0.1 port and is stopped when
the package's tests are done. Skipped without PostgreSQL, nginx, redis-server or pg_dump
(a failure in CI).
"""

import os
import secrets
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from app.core.config import PROJECT_ROOT
from devtools.servers import (
    log_tail,
    redis_answers,
    redis_server,
    reflex_prod,
    reserved_port,
    serve_on_free_port,
    start_logged,
    stop_process_group,
    tool_path,
    wait_until_ok,
)
from tests.database import create_test_database, drop_test_database
from tests.skip_policy import unavailable

HERE = Path(__file__).resolve().parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
START_TIMEOUT = 300
SERVER_URL = os.environ.get("TEST_DATABASE_URL", "")


def missing_requirements() -> list[str]:
    missing = []
    if not SERVER_URL.startswith(("postgres://", "postgresql")):
        missing.append("TEST_DATABASE_URL (a PostgreSQL server)")
    if not Path(NGINX).exists():
        missing.append("nginx (apt-get install nginx)")
    for tool in ("redis-server", "pg_dump", "pg_restore", "psql"):
        if not shutil.which(tool):
            missing.append(tool)
    return missing


@dataclass
class Server:
    """A process started in its own process group, with its log."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    port: int = 0
    command: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        stop_process_group(self.process, sig)

    def tail(self, lines: int = 60) -> str:
        return log_tail(self.log, lines)

    def restart(self, ready_url: str) -> None:
        """Start the same command again (after a test stopped it) and wait until it serves."""
        assert not self.alive, f"{self.name} is still running"
        self.log = self.log.with_name(f"{self.log.stem}-restarted{self.log.suffix}")
        self.process = start_logged(self.command, self.env, self.log)
        wait_for(self, ready_url)


def start(name: str, command: list[str], env: dict[str, str], log: Path, port: int = 0) -> Server:
    return Server(name, start_logged(command, env, log), log, port, command, env)


def wait_for(server: Server, url: str, timeout: float = START_TIMEOUT) -> None:
    wait_until_ok(server.process, url, server.log, timeout, server.name)


def run_to_end(name: str, command: list[str], env: dict[str, str], log: Path) -> None:
    server = start(name, command, env, log)
    try:
        code = server.process.wait(START_TIMEOUT)
    except subprocess.TimeoutExpired:
        server.stop(signal.SIGKILL)
        pytest.fail(f"{name} did not finish in {START_TIMEOUT} s:\n{server.tail()}")
    if code != 0:
        pytest.fail(f"{name} exited with {code}:\n{server.tail()}")


def render_proxy_config(work: Path, port: int, root: Path, backends: list[int]) -> Path:
    """tests/deploy/proxy.conf.template, with the frontend image's snippets beside it."""
    for folder in ("logs", "tmp"):
        (work / folder).mkdir(parents=True, exist_ok=True)
    shutil.copytree(PROJECT_ROOT / "docker/nginx/snippets", work / "snippets", dirs_exist_ok=True)
    servers = "\n".join(
        f"        server 127.0.0.1:{backend} max_fails=1 fail_timeout=30s;" for backend in backends
    )
    # As root, nginx's workers would drop to `nobody`, who cannot read pytest's 0700 folders.
    user = "user root;" if os.geteuid() == 0 else ""
    text = (
        (HERE / "proxy.conf.template")
        .read_text()
        .replace("@@USER@@", user)
        .replace("@@WORK@@", str(work))
        .replace("@@PORT@@", str(port))
        .replace("@@ROOT@@", str(root))
        .replace("@@BACKENDS@@", servers)
    )
    config = work / "nginx.conf"
    config.write_text(text)
    return config


@dataclass
class Stack:
    url: str
    database_url: str
    redis_url: str
    env: dict[str, str]
    backends: list[Server]
    proxy: Server
    access_log: Path
    static_root: Path
    superuser: tuple[str, str]
    work: Path
    extra: list[Server] = field(default_factory=list)

    def superuser_headers(self) -> dict[str, str]:
        email, password = self.superuser
        response = httpx.post(
            f"{self.url}/api/v1/login/access-token",
            data={"username": email, "password": password},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def create_user(self, email: str, password: str) -> dict[str, object]:
        response = httpx.post(
            f"{self.url}/api/v1/users/",
            json={"email": email, "password": password, "full_name": "Deploy Test"},
            headers=self.superuser_headers(),
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return dict(response.json())


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    missing = missing_requirements()
    if missing:
        unavailable(f"the deployment stack needs: {', '.join(missing)}")
    work = tmp_path_factory.mktemp("deploy-stack")
    database_url = create_test_database(SERVER_URL)
    superuser = ("admin@example.com", secrets.token_urlsafe(16))
    reflex = str(Path(sys.executable).parent / "reflex")
    with ExitStack() as cleanup:
        cleanup.callback(drop_test_database, database_url)
        servers: list[Server] = []

        def stop_servers() -> None:
            for server in reversed(servers):
                server.stop()

        cleanup.callback(stop_servers)

        def serve(
            name: str, command: Callable[[int], list[str]], env: dict[str, str], log: Path
        ) -> Server:
            """Start on a free port (another one if it was taken) and wait for /api/ping."""
            process, port = serve_on_free_port(
                lambda port: start_logged(command(port), env, log),
                lambda port: f"http://127.0.0.1:{port}/api/ping",
                log,
                START_TIMEOUT,
                name,
            )
            server = Server(name, process, log, port, command(port), env)
            servers.append(server)
            return server

        redis_log = work / "redis.log"
        redis_process, redis_port = serve_on_free_port(
            lambda port: start_logged(redis_server(port), dict(os.environ), redis_log),
            lambda port: f"redis://127.0.0.1:{port}/0",
            redis_log,
            START_TIMEOUT,
            "redis-server",
            probe=redis_answers,
        )
        servers.append(Server("redis-server", redis_process, redis_log, redis_port))
        redis_url = f"redis://127.0.0.1:{redis_port}/0"

        # The proxy's origin is baked into the export, so its port is held from here on.
        proxy_port = cleanup.enter_context(reserved_port())
        url = f"http://127.0.0.1:{proxy_port}"
        env = {
            **os.environ,
            "PATH": tool_path(),
            "REFLEX_USE_SYSTEM_BUN": "1",
            "REFLEX_TELEMETRY_ENABLED": "false",
            "REFLEX_CHECK_LATEST_VERSION": "false",
            # As compose.prod.yml runs it: production settings, real secrets, Redis state.
            "ENVIRONMENT": "production",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "FIRST_SUPERUSER": superuser[0],
            "FIRST_SUPERUSER_PASSWORD": superuser[1],
            "FRONTEND_HOST": url,
            "REFLEX_API_URL": url,
            "REFLEX_TRUSTED_PROXY_HOPS": "1",
            "EMAIL_BACKEND": "console",
            "BCRYPT_ROUNDS": "4",
            # One worker per backend: two cores run all of this.
            "GRANIAN_WORKERS": "1",
        }

        prestart = [sys.executable, "-m", "app.prestart"]
        run_to_end("python -m app.prestart", prestart, env, work / "prestart.log")

        export_env = {
            **env,
            "REFLEX_WEB_WORKDIR": str(work / "export-web"),
            "REFLEX_STATES_WORKDIR": str(work / "export-states"),
        }
        export = start(
            "reflex export",
            [reflex, "export", "--frontend-only", "--no-zip"],
            export_env,
            work / "export.log",
        )
        servers.append(export)
        backends = [
            serve(
                f"backend {number}",
                lambda port: reflex_prod(port, backend_only=True),
                {
                    **env,
                    "REFLEX_WEB_WORKDIR": str(work / f"backend{number}-web"),
                    "REFLEX_STATES_WORKDIR": str(work / f"backend{number}-states"),
                },
                work / f"backend{number}.log",
            )
            for number in (1, 2)
        ]  # fmt: skip

        try:
            code = export.process.wait(START_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"reflex export did not finish in {START_TIMEOUT} s:\n{export.tail()}")
        if code != 0:
            pytest.fail(f"reflex export exited with {code}:\n{export.tail()}")
        static_root = work / "export-web/build/client"
        assert (static_root / "index.html").exists(), export.tail()

        nginx_dir = work / "nginx"
        backend_ports = [backend.port for backend in backends]
        config = render_proxy_config(nginx_dir, proxy_port, static_root, backend_ports)
        error_log = str(nginx_dir / "logs/error.log")
        proxy = start(
            "nginx",
            [NGINX, "-p", str(nginx_dir), "-e", error_log, "-c", str(config)],
            env,
            nginx_dir / "logs/stdout.log",
            proxy_port,
        )
        servers.append(proxy)
        wait_for(proxy, f"{url}/api/ping")
        wait_for(proxy, f"{url}/login")

        yield Stack(
            url=url,
            database_url=database_url,
            redis_url=redis_url,
            env=env,
            backends=backends,
            proxy=proxy,
            access_log=nginx_dir / "logs/access.log",
            static_root=static_root,
            superuser=superuser,
            work=work,
        )
