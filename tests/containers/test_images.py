"""The images as they run: health checks, non-root processes, no secret inside, bad settings."""

import json
import os
import subprocess
import sys
import time

import pytest

from app.core.config import PROJECT_ROOT
from tests.containers.conftest import (
    BACKEND_IMAGE,
    FRONTEND_IMAGE,
    Stack,
    healthy,
    podman,
)
from tests.factories import random_email


def test_every_container_passes_its_image_healthcheck(stack: Stack) -> None:
    names = stack.replicas("backend") + stack.replicas("frontend")
    assert len(names) == 3
    for name in names:
        assert healthy(name), name
        # The check is the image's own (built with --format docker), not one added at run.
        image = podman("inspect", "--format", "{{.ImageName}}", name).strip()
        check = json.loads(podman("image", "inspect", "--format", "{{json .Config.Healthcheck}}",
                                  image))  # fmt: skip
        assert check and check["Test"][0] == "CMD", image


def test_the_backend_image_trusts_no_proxy_by_itself(stack: Stack) -> None:
    # Reached directly, a backend that trusted a hop would take a client's forged
    # X-Forwarded-For for its address, and escape the per-address limits with it.
    config = json.loads(podman("image", "inspect", f"{BACKEND_IMAGE}:v1"))[0]["Config"]
    assert "REFLEX_TRUSTED_PROXY_HOPS=0" in (config["Env"] or [])
    for name in stack.replicas("backend"):
        # The stack, like compose.yml, says how many proxies stand in front.
        env = podman("exec", name, "printenv", "REFLEX_TRUSTED_PROXY_HOPS").strip()
        assert env == "1", name


def test_processes_run_as_the_non_root_user(stack: Stack) -> None:
    for service, uid in (("backend", "10001"), ("frontend", "101")):
        for name in stack.replicas(service):
            users = podman("top", name, "user").split()[1:]
            assert users, name
            assert "root" not in users, f"{name}: {users}"
            assert podman("exec", name, "id", "-u").strip() == uid


def test_no_secret_is_in_the_images(stack: Stack) -> None:
    secrets = [
        value
        for line in stack.env_file.read_text().splitlines()
        for key, _, value in [line.partition("=")]
        if key in {"SECRET_KEY", "FIRST_SUPERUSER_PASSWORD"}
    ]
    for image in (BACKEND_IMAGE, FRONTEND_IMAGE):
        history = podman("history", "--no-trunc", "--format", "{{.CreatedBy}}", f"{image}:v1")
        config = podman("image", "inspect", f"{image}:v1")
        for secret in secrets:
            assert secret not in history and secret not in config
        env = json.loads(config)[0]["Config"]["Env"] or []
        names = {item.split("=", 1)[0] for item in env}
        assert not {name for name in names if "SECRET" in name or "PASSWORD" in name}, names
        # Nor any file the build context could have brought in.
        files = podman("run", "--rm", "--runtime", "runc", "--ulimit", "nofile=20000:20000",
                       "--ulimit", "nproc=4096:4096", "--entrypoint", "sh", f"{image}:v1",
                       "-c", "ls -a / /app /usr/share/nginx/html 2>/dev/null; true")  # fmt: skip
        assert ".env" not in files.split() and ".secret_key" not in files.split()


def test_smoke_script_passes_through_the_proxy(stack: Stack) -> None:
    email, password = random_email(), "container-smoke-password"
    stack.create_user(email, password)
    result = subprocess.run(
        [sys.executable, "scripts/deploy/smoke.py", stack.url, "--retries", "2", "--delay", "1"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "SMOKE_USER_EMAIL": email, "SMOKE_USER_PASSWORD": password},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed, 0 failed" in result.stdout


def run_backend(
    stack: Stack, tag: str, overrides: dict[str, str], name: str, command: list[str]
) -> None:
    settings = dict(
        line.split("=", 1) for line in stack.env_file.read_text().splitlines() if "=" in line
    )
    settings.update(overrides)
    env_file = stack.work / f"{name}.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in settings.items() if v != "<unset>"))
    podman("run", "--detach", "--name", name, "--label", f"ct={stack.label}", "--runtime", "runc",
           "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=4096:4096",
           "--network", "slirp4netns:allow_host_loopback=true", "--env-file", str(env_file),
           f"{BACKEND_IMAGE}:{tag}", *command)  # fmt: skip


def wait_exit(name: str, timeout: float = 90) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = json.loads(podman("inspect", "--format", "{{json .State}}", name))
        if not state["Running"]:
            return int(state["ExitCode"])
        assert not healthy(name), f"{name} turned healthy"
        time.sleep(1)
    pytest.fail(f"{name} still runs after {timeout} s:\n{podman('logs', name, check=False)}")


PRESTART = ["python", "-m", "app.prestart"]


@pytest.mark.parametrize(
    ("case", "tag", "overrides", "command", "message"),
    [
        ("no-secret", "v1", {"SECRET_KEY": "<unset>"}, [],
         "configuration error: settings: Value error, SECRET_KEY must be set"),
        ("no-secret-prestart", "v1", {"SECRET_KEY": "<unset>"}, PRESTART,
         "configuration error: settings: Value error, SECRET_KEY must be set"),
        ("wrong-db-prestart", "v1",
         {"DATABASE_URL": "postgresql://nobody@10.0.2.2:1/none", "DB_WAIT_SECONDS": "5"},
         PRESTART, "The database at postgresql+psycopg://nobody@10.0.2.2:1/none did not answer"),
        # The bug of issue #10 (requirements without greenlet): the image cannot start.
        ("no-greenlet", "no-greenlet", {}, [], "requires that the Python 'greenlet' library"),
    ],
)  # fmt: skip
def test_a_container_with_a_bad_setting_or_image_stops_with_a_clear_line(
    stack: Stack, case: str, tag: str, overrides: dict[str, str], command: list[str],
    message: str,
) -> None:  # fmt: skip
    name = f"{stack.label}-bad-{case}"
    run_backend(stack, tag, overrides, name, command)
    code = wait_exit(name)
    logs = subprocess.run(["podman", "logs", name], capture_output=True, text=True, timeout=30)
    podman("rm", "--force", name, check=False)
    output = logs.stdout + logs.stderr
    assert code != 0
    assert message.lower() in output.lower(), output[-3000:]
