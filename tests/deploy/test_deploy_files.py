"""The deployment files agree with each other, and deploy.sh runs the diagram's steps."""

import re
import subprocess
from typing import Any

import yaml

from app.core.config import PROJECT_ROOT
from tests.deploy.conftest import HERE

DEPLOY_STEPS = ["backup", "pull", "migrations", "backends", "frontend", "smoke"]


def compose(name: str) -> dict[str, Any]:
    return dict(yaml.safe_load((PROJECT_ROOT / name).read_text()))


def dry_run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "scripts/deploy/deploy.sh", "--dry-run", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def steps_of(output: str) -> list[tuple[str, str]]:
    return re.findall(r"^\[deploy\] step \d/6 (\w+): (.*)$", output, re.MULTILINE)


def test_deploy_dry_run_prints_the_production_steps_in_order() -> None:
    result = dry_run("--env", "production", "--tag", "abc123")
    assert result.returncode == 0, result.stderr
    steps = steps_of(result.stdout)
    assert [name for name, _ in steps] == DEPLOY_STEPS
    commands = dict(steps)
    assert "scripts/deploy/backup.sh --compose" in commands["backup"]
    assert "pull" in commands["pull"]
    assert "prestart" in commands["migrations"]
    assert "one at a time" in commands["backends"]
    assert "drain" in commands["backends"]
    assert "scripts/deploy/smoke.py" in commands["smoke"]
    assert "roll back" in commands["smoke"]
    assert "dry run done: nothing was changed" in result.stdout


def test_staging_deploys_skip_the_backup() -> None:
    result = dry_run("--env", "staging")
    assert result.returncode == 0, result.stderr
    steps = steps_of(result.stdout)
    assert [name for name, _ in steps] == DEPLOY_STEPS
    assert dict(steps)["backup"].startswith("skipped")


def test_deploy_needs_a_known_environment() -> None:
    for args in ((), ("--env", "qa")):
        result = dry_run(*args)
        assert result.returncode == 1, result.stderr
        assert "--env must be staging or production" in result.stderr
        assert not steps_of(result.stdout), "no step may run before the arguments are checked"
    unknown = dry_run("--env", "staging", "--no-such-flag")
    assert unknown.returncode == 2
    assert "unknown argument: --no-such-flag" in unknown.stdout


def test_traefik_sends_api_to_the_backends_and_the_rest_to_the_frontend() -> None:
    services = compose("compose.yml")["services"]
    backend = services["backend"]["labels"]
    frontend = services["frontend"]["labels"]
    assert "PathPrefix(`/api`)" in backend["traefik.http.routers.backend.rule"]
    # Metrics are for Prometheus inside the stack: the internet never reaches them.
    for name in ("compose.yml", "compose.prod.yml"):
        rule = compose(name)["services"]["backend"]["labels"]["traefik.http.routers.backend.rule"]
        assert rule.endswith("&& !Path(`/api/metrics`)"), (name, rule)
    assert "PathPrefix" not in frontend["traefik.http.routers.frontend.rule"]
    assert int(backend["traefik.http.routers.backend.priority"]) > int(
        frontend["traefik.http.routers.frontend.priority"]
    )
    assert not any("sticky" in label for label in backend), "state is in Redis: no stickiness"
    assert services["backend"]["deploy"]["replicas"] == "${BACKEND_REPLICAS:-2}"
    assert services["backend"]["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    assert services["backend"]["depends_on"]["prestart"] == {
        "condition": "service_completed_successfully"
    }


def test_the_local_proxy_of_the_tests_routes_like_traefik() -> None:
    template = (HERE / "proxy.conf.template").read_text()
    assert "location /api {" in template
    assert "proxy_pass http://backends;" in template
    assert "proxy_set_header Upgrade $http_upgrade;" in template
    assert "include snippets/reflex-static.conf;" in template
    # Plain round robin: no sticky, ip_hash or hash directive in the upstream.
    assert not re.search(r"^\s*(sticky|ip_hash|hash)\b", template, re.MULTILINE)
    # The frontend image serves the same snippet.
    assert (
        "include snippets/reflex-static.conf;"
        in (PROJECT_ROOT / "docker/nginx/default.conf").read_text()
    )


def test_images_run_what_the_tests_run() -> None:
    backend = (PROJECT_ROOT / "docker/backend.Dockerfile").read_text()
    assert '"reflex", "run", "--env", "prod", "--backend-only"' in backend
    assert "STOPSIGNAL SIGTERM" in backend
    assert "/api/_health" in backend
    frontend = (PROJECT_ROOT / "docker/frontend.Dockerfile").read_text()
    assert "reflex export --frontend-only --no-zip" in frontend
    assert "COPY docker/nginx/default.conf /etc/nginx/conf.d/default.conf" in frontend
    assert "npm install" in frontend and "bun@" in frontend


def test_dependabots_base_images_are_the_dockerfiles_defaults() -> None:
    # Dependabot bumps docker/base-images.Dockerfile (it cannot read `FROM ${ARG}`); a bump
    # that is not carried over to the ARG defaults the images are built from fails here.
    tracked = set(
        re.findall(
            r"^FROM (\S+) AS",
            (PROJECT_ROOT / "docker/base-images.Dockerfile").read_text(),
            re.MULTILINE,
        )
    )
    defaults = {
        image
        for name in ("backend", "frontend")
        for image in re.findall(
            r"^ARG \w+_IMAGE=(\S+)$",
            (PROJECT_ROOT / f"docker/{name}.Dockerfile").read_text(),
            re.MULTILINE,
        )
    }
    assert (
        tracked
        == defaults
        == {
            "python:3.11-slim-bookworm",
            "node:22-bookworm-slim",
            "nginxinc/nginx-unprivileged:1.29-alpine",
        }
    )


def test_secrets_stay_out_of_images_and_files() -> None:
    ignored = (PROJECT_ROOT / ".dockerignore").read_text().split()
    assert {".env", ".secret_key", ".venv", ".web"} <= set(ignored)
    # compose.yml requires the secret; the other files must not give it a default either.
    assert "SECRET_KEY: ${SECRET_KEY:?" in (PROJECT_ROOT / "compose.yml").read_text()
    for name in ("compose.yml", "compose.prod.yml", "compose.override.yml"):
        text = (PROJECT_ROOT / name).read_text()
        assert "changethis" not in text
        if name != "compose.yml":
            assert "SECRET_KEY" not in text, f"{name} overrides SECRET_KEY"
    for dockerfile in ("docker/backend.Dockerfile", "docker/frontend.Dockerfile"):
        text = (PROJECT_ROOT / dockerfile).read_text()
        assert "SECRET_KEY" not in text and "PASSWORD" not in text
