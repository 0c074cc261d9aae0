"""The images, built and run: tests/containers (scripts/containers/test.sh, CONTAINER_TESTS=1).

Builds docker/backend.Dockerfile and docker/frontend.Dockerfile unchanged with Podman
(`scripts/containers/build.sh --local-bases`: base images made from Debian packages when no
registry is reachable), then runs the stack of compose.yml from them against the host's
PostgreSQL (a fresh database) and Redis: prestart as its own container, two backend
containers, one frontend container, and Debian's nginx in front routed like the Traefik
labels (proxy.conf.template). Containers are started through the same deploy hooks that
scripts/deploy/deploy.sh uses here (podman_hooks.sh). Under CI=true a missing tool fails.
"""

import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect

from app.core.config import PROJECT_ROOT
from devtools.servers import start_logged, stop_process_group, wait_until_ok
from tests.database import create_test_database, drop_test_database

# A UI event sent while its backend is being replaced waits for the socket to reconnect
# to the other replica (socket.io's backoff), on two cores that also run the builds.
expect.set_options(timeout=20_000)

HERE = Path(__file__).resolve().parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
BACKEND_IMAGE = "localhost/full-stack-reflex-backend"
FRONTEND_IMAGE = "localhost/full-stack-reflex-frontend"
SERVER_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
HOOKS = HERE / "podman_hooks.sh"
# The bundle keeps the port of REFLEX_API_URL on plain http (Reflex swaps only a localhost
# host for the page's), so the frontend is built for the proxy's fixed port.
PROXY_PORT = int(os.environ.get("CONTAINER_PROXY_PORT", "18480"))
FIGURES: dict[str, str] = {}


def missing_tools() -> list[str]:
    return [
        tool for tool in ("podman", "runc", "slirp4netns", "debootstrap") if not shutil.which(tool)
    ]


@dataclass
class Stack:
    url: str
    label: str
    work: Path
    env: dict[str, str]  # for scripts/deploy/deploy.sh and the hooks
    env_file: Path
    superuser: tuple[str, str]
    database_url: str
    redis_url: str
    logs: list[str] = field(default_factory=list)

    def hook(self, *command: str) -> str:
        """Run a function of podman_hooks.sh; its stdout."""
        script = f'source "{HOOKS}"; "$@"'
        result = subprocess.run(
            ["bash", "-c", script, "hook", *command],
            env=self.env, capture_output=True, text=True, timeout=300, cwd=PROJECT_ROOT,
        )  # fmt: skip
        assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"
        return result.stdout.strip()

    def replicas(self, service: str) -> list[str]:
        return [name for name in self.hook(f"{service}_replicas").splitlines() if name]

    def route(self, service: str, names: list[str]) -> None:
        self.hook("proxy_routes", service, *names)

    def superuser_token(self) -> str:
        email, password = self.superuser
        response = httpx.post(
            f"{self.url}/api/v1/login/access-token",
            data={"username": email, "password": password},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def create_user(self, email: str, password: str) -> None:
        response = httpx.post(
            f"{self.url}/api/v1/users/",
            json={"email": email, "password": password, "full_name": "Container Test"},
            headers={"Authorization": f"Bearer {self.superuser_token()}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text


def podman(*args: str, timeout: float = 120, check: bool = True) -> str:
    result = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)
    if check:
        assert result.returncode == 0, f"podman {' '.join(args)}: {result.stderr}"
    return result.stdout


def healthy(name: str) -> bool:
    return (
        subprocess.run(["podman", "healthcheck", "run", name], capture_output=True).returncode == 0
    )


def wait_healthy(name: str, timeout: float = 180) -> float:
    """Seconds from now until the container's HEALTHCHECK passes."""
    start = time.monotonic()
    while not healthy(name):
        state = podman("inspect", "--format", "{{.State.Running}}", name, check=False).strip()
        if state != "true":
            pytest.fail(f"{name} exited:\n{podman('logs', '--tail', '30', name, check=False)}")
        if time.monotonic() - start > timeout:
            pytest.fail(f"{name} not healthy in {timeout} s:\n{podman('logs', name, check=False)}")
        time.sleep(0.25)
    return time.monotonic() - start


def derived_image(base: str, tag: str, lines: str) -> None:
    """A new tag built FROM an existing image, with a few more Dockerfile lines."""
    result = subprocess.run(
        ["podman", "build", "--format", "docker", "--runtime", "runc", "--network", "host",
         "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=4096:4096", "-t", tag, "-f", "-",
         str(HERE)],
        input=f"FROM {base}\n{lines}\n", capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="package")
def images() -> dict[str, str]:
    """Tags: v1 (built from the Dockerfiles), v2 (a new release of it), v3-broken."""
    missing = missing_tools()
    if missing:
        message = f"tests/containers need {', '.join(missing)} (scripts/containers/test.sh)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    env = {**os.environ, "DOCKER_IMAGE_BACKEND": BACKEND_IMAGE,
           "DOCKER_IMAGE_FRONTEND": FRONTEND_IMAGE, "CONTAINER_ENGINE": "podman",
           "REFLEX_API_URL": f"http://localhost:{PROXY_PORT}"}  # fmt: skip
    start = time.monotonic()
    build = subprocess.run(
        ["bash", "scripts/containers/build.sh", "--local-bases", "--tag", "v1"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]
    FIGURES["build (backend + frontend, warm cache)"] = f"{time.monotonic() - start:.0f} s"
    for image in (BACKEND_IMAGE, FRONTEND_IMAGE):
        derived_image(f"{image}:v1", f"{image}:v2", 'LABEL org.opencontainers.image.version="v2"')
    # Broken requirements on purpose. Without greenlet (the bug of issue #10) nothing of
    # the app imports; without granian the migrations pass but the server cannot start.
    for tag, package in (("no-greenlet", "greenlet"), ("v3-broken", "granian")):
        derived_image(
            f"{BACKEND_IMAGE}:v1",
            f"{BACKEND_IMAGE}:{tag}",
            f"USER root\nRUN /opt/venv/bin/python -m pip uninstall --yes {package}\n"
            "USER 10001:10001",
        )
    derived_image(f"{FRONTEND_IMAGE}:v1", f"{FRONTEND_IMAGE}:v3-broken", "LABEL broken=true")
    for image in (BACKEND_IMAGE, FRONTEND_IMAGE):
        size = int(podman("image", "inspect", "--format", "{{.Size}}", f"{image}:v1"))
        FIGURES[f"size of {image.split('/')[-1]}"] = f"{size / 1e6:.0f} MB"
    return {"current": "v1", "next": "v2", "broken": "v3-broken"}


def render_proxy(work: Path, port: int) -> Path:
    for folder in ("logs", "tmp"):
        (work / folder).mkdir(parents=True, exist_ok=True)
    user = "user root;" if os.geteuid() == 0 else ""
    text = (
        (HERE / "proxy.conf.template")
        .read_text()
        .replace("@@USER@@", user)
        .replace("@@WORK@@", str(work))
        .replace("@@PORT@@", str(port))
    )
    config = work / "nginx.conf"
    config.write_text(text)
    return config


@pytest.fixture(scope="package")
def stack(images: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("containers")
    database_url = create_test_database(SERVER_URL)
    # Inside a container (slirp4netns) the host's loopback is 10.0.2.2.
    container_db = database_url.replace("127.0.0.1", "10.0.2.2").replace("localhost", "10.0.2.2")
    redis_db = secrets.randbelow(8) + 8
    proxy_port = PROXY_PORT
    with socket.socket() as probe:
        # As nginx binds: connections of an earlier run still in TIME_WAIT do not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", proxy_port))
        except OSError:
            pytest.fail(f"port {proxy_port} is taken: set CONTAINER_PROXY_PORT to a free one")
    url = f"http://127.0.0.1:{proxy_port}"
    label = f"ct{secrets.token_hex(3)}"
    superuser = ("admin@example.com", secrets.token_urlsafe(16))
    settings = {
        "ENVIRONMENT": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": container_db,
        "REDIS_URL": f"redis://10.0.2.2:6379/{redis_db}",
        "FIRST_SUPERUSER": superuser[0],
        "FIRST_SUPERUSER_PASSWORD": superuser[1],
        "FRONTEND_HOST": url,
        "EMAIL_BACKEND": "console",
        "BCRYPT_ROUNDS": "4",
        # Two cores run all of it: one granian worker per backend.
        "GRANIAN_WORKERS": "1",
        "DB_POOL_SIZE": "5",
        # As compose.yml sets it: one proxy (nginx here, Traefik there) in front.
        "REFLEX_TRUSTED_PROXY_HOPS": "1",
    }
    env_file = work / "app.env"
    env_file.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
    env_file.chmod(0o600)
    config = render_proxy(work, proxy_port)
    env = {
        **os.environ,
        "CT_LABEL": label,
        "CT_ENV_FILE": str(env_file),
        "CT_WORK": str(work),
        "CT_NGINX": NGINX,
        "CT_NGINX_CONF": str(config),
        "CONTAINER_ENGINE": "podman",
        "DOCKER_IMAGE_BACKEND": BACKEND_IMAGE,
        "DOCKER_IMAGE_FRONTEND": FRONTEND_IMAGE,
        "DEPLOY_HOOKS": str(HOOKS),
        "DEPLOY_URL": url,
        "BACKEND_IMAGE": BACKEND_IMAGE,
        "FRONTEND_IMAGE": FRONTEND_IMAGE,
    }
    stack = Stack(url, label, work, env, env_file, superuser, database_url,
                  f"redis://127.0.0.1:6379/{redis_db}")  # fmt: skip
    proxy = None
    try:
        stack.hook("run_migrations", images["current"])
        backends = []
        for number in range(2):
            name = stack.hook("start_backend", images["current"])
            seconds = wait_healthy(name)
            if number == 0:
                FIGURES["backend cold start (container start -> healthy)"] = f"{seconds:.1f} s"
            backends.append(name)
        frontend = stack.hook("start_frontend", images["current"])
        wait_healthy(frontend)
        for service, names in (("backend", backends), ("frontend", [frontend])):
            (work / f"{service}.upstream").write_text(
                "".join(f"server 127.0.0.1:{name.rsplit('-', 1)[1]};\n" for name in names)
            )
        log = work / "logs/stdout.log"
        proxy = start_logged([NGINX, "-p", str(work), "-c", str(config)], env, log)
        wait_until_ok(proxy, f"{url}/api/ping", log, 30, "nginx")
        wait_until_ok(proxy, f"{url}/login", log, 30, "nginx")
        # The ordinary user deploy.sh's smoke test logs in as (SMOKE_USER_* in the pipeline).
        smoke_user = (f"smoke-{label}@example.com", secrets.token_urlsafe(16))
        stack.create_user(*smoke_user)
        env["SMOKE_USER_EMAIL"], env["SMOKE_USER_PASSWORD"] = smoke_user
        yield stack
    finally:
        names = podman("ps", "-a", "--filter", f"label=ct={label}", "--format", "{{.Names}}",
                       check=False).split()  # fmt: skip
        if names:
            podman("rm", "--force", "--time", "5", *names, check=False)
        if proxy is not None:
            stop_process_group(proxy)
        drop_test_database(database_url)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("container figures")
        for name, value in FIGURES.items():
            terminalreporter.write_line(f"{name}: {value}")
        report = os.environ.get("CONTAINER_REPORT")
        if report:
            Path(report).write_text(json.dumps(FIGURES, indent=2) + "\n")
