"""The rendered chart turned into what `podman kube play` (Podman 4.3) can run.

Podman 4.3 plays Pods, Deployments (one pod each), ConfigMaps and emptyDir volumes, and
reads a secretKeyRef from a podman secret holding the Secret's data as JSON. It does not
play Services, Ingresses, Jobs, StatefulSets or probes, and on the host network (the
only one that works on these machines) it refuses container ports. So, and only so:
  - each Secret becomes a podman secret of the same name (`secrets`);
  - the migrations Job's pod template runs as a Pod, before the rest (`job_pods`);
  - the Redis StatefulSet runs as a Deployment of the same pod template;
  - container ports are dropped (the containers listen on the host's ports the values
    give them, all in 18000-18999), and every Service's name resolves to 127.0.0.1
    (hostAliases) where its container listens on the Service's port;
  - the Ingress and the Services become an nginx site (`router_site`) with the Ingress'
    paths, each proxied to the port of the container its Service selects; it runs in a
    pod of the frontend image, the nginx every route ends in;
  - the frontend image's site listens on 8080 (docker/nginx/default.conf); the played
    frontend mounts the same site with only the port changed (`frontend_site`);
  - the probes are called by the test itself.
"""

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

from app.core.config import PROJECT_ROOT
from tests.k8s.chart import Manifest, dump, of_kind, pod_template

NGINX_SITE = PROJECT_ROOT / "docker" / "nginx" / "default.conf"
# The PostgreSQL the chart's external-database mode points at (CloudNativePG needs its
# operator): Debian's server in the test's data image, on the played host network.
POSTGRES_BIN = "/usr/lib/postgresql/15/bin"


@dataclass
class Play:
    """What to hand to podman, in order."""

    secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    job_pods: list[Manifest] = field(default_factory=list)
    app: list[Manifest] = field(default_factory=list)


def config_map(name: str, data: dict[str, str]) -> Manifest:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def mount_config(pod_spec: Manifest, name: str, path: str) -> None:
    """Mount ConfigMap `name` at `path` in every container of the pod."""
    pod_spec.setdefault("volumes", []).append({"name": name, "configMap": {"name": name}})
    for container in pod_spec["containers"]:
        container.setdefault("volumeMounts", []).append({"name": name, "mountPath": path})


def without_ports(doc: Manifest) -> Manifest:
    doc = copy.deepcopy(doc)
    for container in pod_template(doc)["spec"]["containers"]:
        container.pop("ports", None)
    return doc


def container_port(docs: list[Manifest], service_name: str, port_name: str) -> int:
    """Where a Service's named port ends: the port of the container its selector picks."""
    (service,) = [s for s in of_kind(docs, "Service") if s["metadata"]["name"] == service_name]
    (port,) = [p for p in service["spec"]["ports"] if p["name"] == port_name]
    target = port["targetPort"]
    selector = service["spec"]["selector"].items()
    for doc in docs:
        if doc["kind"] in ("Deployment", "StatefulSet"):
            template = pod_template(doc)
            if selector <= template["metadata"]["labels"].items():
                for container in template["spec"]["containers"]:
                    for candidate in container.get("ports", []):
                        if target in (candidate.get("name"), candidate["containerPort"]):
                            return int(candidate["containerPort"])
    raise AssertionError(f"no container behind {service_name}:{port_name}")


def router_site(docs: list[Manifest], listen: int) -> str:
    """The Ingress as an nginx site: each Prefix path (matched element by element, as the
    Ingress API says; the longest wins, as nginx's prefix locations do) proxied to the
    container behind its Service, websockets included."""
    (ingress,) = of_kind(docs, "Ingress")
    (rule,) = ingress["spec"]["rules"]
    lines = [
        "map $http_upgrade $connection_upgrade { default upgrade; '' close; }",
        "server {",
        f"    listen {listen};",
        "    proxy_http_version 1.1;",
        "    proxy_set_header Host $host;",
        "    proxy_set_header Upgrade $http_upgrade;",
        "    proxy_set_header Connection $connection_upgrade;",
        "    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "    proxy_set_header X-Forwarded-Proto $scheme;",
        "    proxy_read_timeout 3600s;",
    ]
    for entry in rule["http"]["paths"]:
        assert entry["pathType"] in ("Prefix", "Exact"), entry
        service = entry["backend"]["service"]
        upstream = (
            f"http://127.0.0.1:{container_port(docs, service['name'], service['port']['name'])}"
        )
        path = entry["path"].rstrip("/")
        locations = [f"= {path or '/'}"]
        if entry["pathType"] == "Prefix":
            locations.append(f"{path}/")
        for location in locations:
            lines.append(f"    location {location} {{ proxy_pass {upstream}; }}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def frontend_site(listen: int) -> str:
    """The frontend image's own site (docker/nginx/default.conf) on another port."""
    site = NGINX_SITE.read_text()
    assert "listen 8080;" in site
    return site.replace("listen 8080;", f"listen {listen};")


def postgres_pod(name: str, image: str, port: int) -> Manifest:
    script = (
        f"{POSTGRES_BIN}/initdb -D /var/run/pg/data -U postgres --auth=trust >/dev/null && "
        f"exec {POSTGRES_BIN}/postgres -D /var/run/pg/data -p {port} -k /var/run/pg "
        "-c listen_addresses=127.0.0.1"
    )
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "securityContext": {"runAsUser": 101, "runAsNonRoot": True},
            "containers": [
                {
                    "name": "postgres",
                    "image": image,
                    "command": ["sh", "-c", script],
                    "volumeMounts": [{"name": "pg", "mountPath": "/var/run/pg"}],
                }
            ],
            "volumes": [{"name": "pg", "emptyDir": {}}],
        },
    }


def playable(docs: list[Manifest], *, router: str, router_port: int, frontend_port: int) -> Play:
    """The rendered objects as Podman 4.3 runs them (the module's docstring says how)."""
    play = Play()
    for doc in docs:
        kind, name = doc["kind"], doc["metadata"]["name"]
        if kind == "Secret":
            play.secrets[name] = dict(doc.get("data", {}))
        elif kind == "Job":
            template = copy.deepcopy(pod_template(doc))
            play.job_pods.append(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": name},
                    "spec": template["spec"],
                }
            )
        elif kind in ("Deployment", "StatefulSet"):
            played = without_ports(doc)
            if kind == "StatefulSet":
                played["kind"] = "Deployment"
                played["spec"].pop("serviceName")
                played["spec"].pop("volumeClaimTemplates", None)
            if doc["metadata"]["labels"]["app.kubernetes.io/component"] == "frontend":
                site = f"{name}-site"
                play.app.append(config_map(site, {"default.conf": frontend_site(frontend_port)}))
                mount_config(pod_template(played)["spec"], site, "/etc/nginx/conf.d")
            play.app.append(played)
    services = [service["metadata"]["name"] for service in of_kind(docs, "Service")]
    for doc in [*play.job_pods, *play.app]:
        if doc["kind"] != "ConfigMap":
            spec = doc["spec"] if doc["kind"] == "Pod" else pod_template(doc)["spec"]
            for entry in (e for c in spec["containers"] for e in c.get("env", [])):
                for service in services:
                    if "value" in entry:
                        entry["value"] = entry["value"].replace(f"//{service}:", "//127.0.0.1:")
    (frontend,) = [
        doc for doc in play.app
        if doc["kind"] == "Deployment"
        and doc["metadata"]["labels"]["app.kubernetes.io/component"] == "frontend"
    ]  # fmt: skip
    router_spec = copy.deepcopy(pod_template(frontend)["spec"])
    (nginx,) = router_spec["containers"]
    nginx["name"] = "router"
    nginx.pop("lifecycle", None)
    router_spec["volumes"] = [v for v in router_spec["volumes"] if "configMap" not in v]
    nginx["volumeMounts"] = [m for m in nginx["volumeMounts"] if m["mountPath"] == "/tmp"]
    mount_config(router_spec, f"{router}-site", "/etc/nginx/conf.d")
    play.app.append(config_map(f"{router}-site", {"router.conf": router_site(docs, router_port)}))
    play.app.append(
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": router}, "spec": router_spec}
    )
    return play


def secret_json(data: dict[str, str]) -> str:
    """A Secret's data (base64 values) as Podman 4.3 reads it for a secretKeyRef."""
    return json.dumps(data)


def write_all(path: Path, docs: list[Manifest]) -> Path:
    path.write_text(dump(docs))
    return path


def container_name(doc: Manifest, container: str) -> str:
    """The name podman gives a played container: <pod>-<container>, where a Deployment's
    one pod is <deployment>-pod-0 (a StatefulSet is played as a Deployment)."""
    pod = doc["metadata"]["name"] + (
        "-pod-0" if doc["kind"] in ("Deployment", "StatefulSet") else ""
    )
    return f"{pod}-{container}"
