"""The rendered chart, run: `podman kube play` of the backend, frontend, Redis and a
PostgreSQL, from images built from the project's Dockerfiles (scripts/containers/build.sh).

No Kubernetes cluster runs here; tests/k8s/play.py says what Podman 4.3 plays and how
the rest (the Job, the StatefulSet, the Ingress and Services, the probes) is stood in
for. Order as Helm's: the migrations Job's pod first, then the Deployments; then a smoke
test through the Ingress' routes, the probes' URLs, the preStop drain, `podman kube down`.
"""

import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from app.core.config import PROJECT_ROOT
from tests.k8s.chart import (
    Manifest,
    component,
    dump,
    env_of,
    pod_template,
    render,
    workloads,
)
from tests.k8s.play import (
    Play,
    container_name,
    container_port,
    playable,
    postgres_pod,
    secret_json,
    write_all,
)
from tests.skip_policy import unavailable

# Every name this test gives podman starts with it (pods, containers, secrets, images).
NAME = "fsr-k8s"
TAG = "k8s"
BACKEND_IMAGE = f"localhost/{NAME}-backend"
FRONTEND_IMAGE = f"localhost/{NAME}-frontend"
# Debian's redis-server and PostgreSQL 15 on the local Python base (no registry images).
DATA_IMAGE = f"localhost/{NAME}-data:bookworm"
DATA_DOCKERFILE = (
    "FROM localhost/python:3.11-slim-bookworm\n"
    "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "
    "--no-install-recommends redis-server postgresql-15 && rm -rf /var/lib/apt/lists/*\n"
)
PORT_BASE = int(os.environ.get("K8S_PLAY_PORT_BASE", "18680"))
# ../shared/spec/containers.md: runc (crun refuses these cgroups) and limits within the
# hard ones, for the pods' infra containers too.
PODMAN_CONF = """[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
[engine]
runtime = "runc"
"""


@dataclass(frozen=True)
class Ports:
    router: int = PORT_BASE
    frontend: int = PORT_BASE + 1
    backend: int = PORT_BASE + 2
    redis: int = PORT_BASE + 3
    postgres: int = PORT_BASE + 4


@dataclass
class Played:
    docs: list[Manifest]
    play: Play
    ports: Ports
    url: str
    superuser: tuple[str, str]
    migrations_log: str
    env: dict[str, str]

    def podman(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return podman(self.env, *args, timeout=timeout)


def podman(
    env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def checked(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{result.args}: {result.stdout}{result.stderr}"
    return result.stdout


def build_images(env: dict[str, str], ports: Ports) -> None:
    build_env = {
        **env,
        "DOCKER_IMAGE_BACKEND": BACKEND_IMAGE,
        "DOCKER_IMAGE_FRONTEND": FRONTEND_IMAGE,
        # The bundle keeps REFLEX_API_URL's port on plain http: the router's.
        "REFLEX_API_URL": f"http://localhost:{ports.router}",
    }
    build = subprocess.run(
        ["bash", "scripts/containers/build.sh", "--local-bases", "--tag", TAG],
        cwd=PROJECT_ROOT, env=build_env, capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]
    if podman(env, "image", "exists", DATA_IMAGE).returncode != 0:
        checked(
            subprocess.run(
                [
                    "podman",
                    "build",
                    "--format",
                    "docker",
                    "--network",
                    "host",
                    "--runtime",
                    "runc",
                    "--ulimit",
                    "nofile=20000:20000",
                    "--ulimit",
                    "nproc=4096:4096",
                    "-t",
                    DATA_IMAGE,
                    "-f",
                    "-",
                    str(PROJECT_ROOT / "tests" / "k8s"),
                ],
                input=DATA_DOCKERFILE,
                capture_output=True,
                text=True,
                timeout=900,
                env=env,
            )  # fmt: skip
        )


def play_values(ports: Ports, superuser_password: str) -> Manifest:
    """The chart's values for one pod of each, listening on the host network."""
    image = {"tag": TAG, "pullPolicy": "IfNotPresent"}
    return {
        "fullnameOverride": NAME,
        "ingress": {"host": "localhost"},
        "app": {
            "frontendHost": f"http://127.0.0.1:{ports.router}",
            "emailBackend": "console",
            "logFormat": "text",
            "extraEnv": [{"name": "BCRYPT_ROUNDS", "value": "4"}],
        },
        "secrets": {
            "secretKey": secrets.token_urlsafe(48),
            "firstSuperuserPassword": superuser_password,
        },
        "backend": {
            "image": {**image, "repository": BACKEND_IMAGE},
            "port": ports.backend,
            "workers": 1,
            "drainSeconds": 4,
            "autoscaling": {"enabled": False},
            "replicaCount": 1,
        },
        "frontend": {
            "image": {**image, "repository": FRONTEND_IMAGE},
            "port": ports.frontend,
            "replicaCount": 1,
        },
        "database": {
            "mode": "external",
            "external": {"url": f"postgresql://postgres@127.0.0.1:{ports.postgres}/postgres"},
        },
        "redis": {
            "statefulset": {
                "image": {**image, "repository": DATA_IMAGE.split(":")[0], "tag": "bookworm"},
                "port": ports.redis,
                "persistence": {"enabled": False},
                # Debian's redis user in the data image (the chart's default is the
                # official image's 999).
                "podSecurityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": 100,
                    "runAsGroup": 102,
                    "fsGroup": 102,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
            }
        },
    }


def wait_for(what: str, ready: Callable[[], bool], seconds: float, logs: Callable[[], str]) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not ready within {seconds:.0f} s:\n{logs()}")
        time.sleep(0.5)


def answers(url: str, status: int = 200) -> bool:
    try:
        return httpx.get(url, timeout=3).status_code == status
    except httpx.HTTPError:
        return False


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def remove_leftovers(env: dict[str, str]) -> None:
    """Pods and secrets of an earlier run that did not get to `kube down`: only ours."""
    pods = checked(podman(env, "pod", "ps", "--filter", f"name=^{NAME}-", "--format", "{{.Name}}"))
    for pod in pods.split():
        podman(env, "pod", "rm", "--force", pod)
    names = checked(podman(env, "secret", "ls", "--format", "{{.Name}}"))
    for secret in names.split():
        if secret.startswith(f"{NAME}"):
            podman(env, "secret", "rm", secret)


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Played]:
    missing = [tool for tool in ("podman", "runc", "catatonit") if not shutil.which(tool)]
    if missing:
        unavailable(
            f"the kube play test needs {', '.join(missing)} (scripts/k8s/test.sh installs them)"
        )
    work = tmp_path_factory.mktemp("k8s-play")
    conf = work / "containers.conf"
    conf.write_text(PODMAN_CONF)
    env = {**os.environ, "CONTAINERS_CONF": str(conf)}
    ports = Ports()
    taken = [port for port in vars(ports).values() if not port_is_free(port)]
    assert not taken, f"ports {taken} are taken: set K8S_PLAY_PORT_BASE to a free range"
    build_images(env, ports)
    superuser = ("admin@example.com", secrets.token_urlsafe(16))
    values = work / "values.yaml"
    values.write_text(dump([play_values(ports, superuser[1])]))
    docs = render("-f", str(values))
    play = playable(
        docs, router=f"{NAME}-router", router_port=ports.router, frontend_port=ports.frontend
    )
    database = write_all(
        work / "postgres.yaml", [postgres_pod(f"{NAME}-postgres", DATA_IMAGE, ports.postgres)]
    )
    jobs = write_all(work / "jobs.yaml", play.job_pods)
    app = write_all(work / "app.yaml", play.app)
    remove_leftovers(env)
    played_files: list[Path] = []
    try:
        for name, data in play.secrets.items():
            create = ["podman", "secret", "create", name, "-"]
            checked(subprocess.run(create, input=secret_json(data), capture_output=True,
                                   text=True, env=env, timeout=60))  # fmt: skip
        played_files.append(database)
        checked(podman(env, "kube", "play", "--network", "host", str(database), timeout=300))
        postgres = f"{NAME}-postgres-postgres"
        wait_for("PostgreSQL", lambda: postgres_answers(ports.postgres), 60,
                 lambda: podman(env, "logs", postgres).stderr)  # fmt: skip
        # Helm's order: the pre-install hook (the migrations Job) first, then the rest.
        played_files.append(jobs)
        checked(podman(env, "kube", "play", "--network", "host", str(jobs), timeout=300))
        (job_pod,) = play.job_pods
        job = container_name(job_pod, "migrations")
        wait_for("the migrations pod", lambda: exited(env, job), 300,
                 lambda: podman(env, "logs", job).stderr)  # fmt: skip
        migrations_log = podman(env, "logs", job).stdout + podman(env, "logs", job).stderr
        code = checked(podman(env, "inspect", "--format", "{{.State.ExitCode}}", job)).strip()
        assert code == "0", f"migrations exited {code}:\n{migrations_log}"
        played_files.append(app)
        checked(podman(env, "kube", "play", "--network", "host", str(app), timeout=300))
        url = f"http://127.0.0.1:{ports.router}"
        backend = component(docs, "Deployment", "backend")
        ping = f"http://127.0.0.1:{ports.backend}/api/ping"
        backend_logs = container_name(backend, "backend")
        wait_for("the backend", lambda: answers(ping), 90,
                 lambda: podman(env, "logs", backend_logs).stderr)  # fmt: skip
        wait_for("the router", lambda: answers(f"{url}/login"), 60,
                 lambda: podman(env, "logs", f"{NAME}-router-router").stderr)  # fmt: skip
        yield Played(docs, play, ports, url, superuser, migrations_log, env)
    finally:
        for manifest in reversed(played_files):
            podman(env, "kube", "down", str(manifest), timeout=300)
        for name in play.secrets:
            podman(env, "secret", "rm", name)
        left = checked(
            podman(env, "pod", "ps", "--filter", f"name=^{NAME}-", "--format", "{{.Name}}")
        )
        assert not left.split(), f"kube down left pods: {left}"


def postgres_answers(port: int) -> bool:
    try:
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def exited(env: dict[str, str], container: str) -> bool:
    state = podman(env, "inspect", "--format", "{{.State.Status}}", container).stdout.strip()
    return state in ("exited", "stopped")


def test_migrations_ran_before_the_backends(played: Played) -> None:
    assert "First superuser: admin@example.com" in played.migrations_log
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{played.ports.postgres}/postgres") as db:
        (revision,) = db.execute("SELECT version_num FROM alembic_version").fetchone() or ("",)
    assert revision


def test_the_probes_of_the_rendered_manifests_answer(played: Played) -> None:
    checked_probes = 0
    for doc in workloads(played.docs):
        if doc["kind"] == "Job":
            continue
        for container in pod_template(doc)["spec"]["containers"]:
            for probe_name in ("startupProbe", "readinessProbe", "livenessProbe"):
                probe = container.get(probe_name)
                if probe is None:
                    continue
                if "httpGet" in probe:
                    port = probe["httpGet"]["port"]
                    if isinstance(port, str):
                        (port,) = [
                            p["containerPort"] for p in container["ports"] if p["name"] == port
                        ]
                    url = f"http://127.0.0.1:{port}{probe['httpGet']['path']}"
                    assert answers(url), f"{doc['metadata']['name']} {probe_name}: {url}"
                elif "exec" in probe:
                    name = container_name(doc, container["name"])
                    checked(played.podman("exec", name, *probe["exec"]["command"]))
                else:
                    (port,) = [p["containerPort"] for p in container["ports"]]
                    socket.create_connection(("127.0.0.1", port), timeout=3).close()
                checked_probes += 1
    assert checked_probes >= 7  # backend 3, frontend 2, redis 2


def test_log_in_add_an_item_and_load_the_ui_through_the_ingress_routes(played: Played) -> None:
    email, password = played.superuser
    with httpx.Client(base_url=played.url, timeout=30) as client:
        login = client.post(
            "/api/v1/login/access-token", data={"username": email, "password": password}
        )
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        title = f"played-{secrets.token_hex(4)}"
        created = client.post("/api/v1/items/", json={"title": title}, headers=headers)
        assert created.status_code == 200, created.text
        items = client.get("/api/v1/items/", headers=headers).json()
        assert title in [item["title"] for item in items["data"]]
        page = client.get("/items")
        assert page.status_code == 200
        assert "<html" in page.text.lower()
        # The ordinary user scripts/deploy/smoke.py logs in as.
        smoke_user = (f"smoke-{secrets.token_hex(3)}@example.com", secrets.token_urlsafe(16))
        user = client.post(
            "/api/v1/users/",
            json={"email": smoke_user[0], "password": smoke_user[1]},
            headers=headers,
        )
        assert user.status_code == 200, user.text
    smoke = subprocess.run(
        [sys.executable, "scripts/deploy/smoke.py", played.url, "--timeout", "15"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=180,
        env={**os.environ, "SMOKE_USER_EMAIL": smoke_user[0], "SMOKE_USER_PASSWORD": smoke_user[1]},
    )  # fmt: skip
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    assert "4 passed, 0 failed" in smoke.stdout


def test_metrics_are_scraped_inside_but_never_routed(played: Played) -> None:
    outside = httpx.get(f"{played.url}/api/metrics", timeout=10)
    assert outside.status_code == 404
    assert "http_requests_total" not in outside.text
    backend = component(played.docs, "Service", "backend")["metadata"]["name"]
    inside = httpx.get(
        f"http://127.0.0.1:{container_port(played.docs, backend, 'http')}/api/metrics", timeout=10
    )
    assert inside.status_code == 200
    assert "http_requests_total" in inside.text


def test_the_pre_stop_hook_drains_the_backend(played: Played) -> None:
    """Run last: the drained backend stays out of its Service until `kube down`."""
    backend = component(played.docs, "Deployment", "backend")
    (container,) = pod_template(backend)["spec"]["containers"]
    command = container["lifecycle"]["preStop"]["exec"]["command"]
    name = container_name(backend, "backend")
    base = f"http://127.0.0.1:{played.ports.backend}"
    result: list[subprocess.CompletedProcess[str]] = []
    hook = threading.Thread(target=lambda: result.append(played.podman("exec", name, *command)))
    started = time.monotonic()
    hook.start()
    wait_for("the drain", lambda: answers(f"{base}/api/ping", 503), 10, lambda: "")
    readiness = container["readinessProbe"]["httpGet"]["path"]
    liveness = container["livenessProbe"]["httpGet"]["path"]
    assert answers(f"{base}{readiness}", 503)
    assert answers(f"{base}{liveness}")  # not restarted while it drains
    assert answers(f"{played.url}/api/v1/utils/health-check/")  # in-flight work goes on
    hook.join(60)
    (done,) = result
    assert done.returncode == 0, done.stderr
    drain_file = env_of(container)["DRAIN_FILE"]["value"]
    assert "sleep 4" in " ".join(command) and time.monotonic() - started >= 4
    checked(played.podman("exec", name, "test", "-f", drain_file))
