"""What every install of the chart must hold, read from the rendered YAML.

Probes, resources, a non-root read-only container and a pinned image everywhere; the
disruption budget and autoscaler aimed at the backends; migrations before the new
backends; /api/metrics never reachable from outside; no secret that ships with the chart.
"""

import re
from unittest.mock import ANY

import pytest
import yaml

from app.core.config import PROJECT_ROOT
from tests.k8s.chart import (
    CHART,
    RELEASE,
    VARIANTS,
    Manifest,
    component,
    env_of,
    hook,
    hook_weight,
    install_dry_run,
    of_kind,
    pod_template,
    render,
    render_error,
    render_variant,
    values_file,
    workloads,
)

PINNED_TAG = re.compile(r"^[^:@]+(:[0-9]+)?/?[^:@]*:(?!latest$)[\w][\w.-]*$")


@pytest.fixture(scope="module", params=VARIANTS)
def docs(request: pytest.FixtureRequest) -> list[Manifest]:
    return render_variant(request.param)


def containers(doc: Manifest) -> list[Manifest]:
    spec = pod_template(doc)["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def test_every_long_running_container_has_probes(docs: list[Manifest]) -> None:
    for doc in docs:
        if doc["kind"] in ("Deployment", "StatefulSet"):
            for container in containers(doc):
                name = f"{doc['metadata']['name']}/{container['name']}"
                assert "readinessProbe" in container, f"{name} has no readiness probe"
                assert "livenessProbe" in container, f"{name} has no liveness probe"


def test_every_container_has_requests_and_a_memory_limit(docs: list[Manifest]) -> None:
    for doc in workloads(docs):
        for container in containers(doc):
            resources = container.get("resources", {})
            name = f"{doc['metadata']['name']}/{container['name']}"
            assert {"cpu", "memory"} <= set(resources.get("requests", {})), name
            assert "memory" in resources.get("limits", {}), name


def test_every_pod_runs_as_non_root_without_privileges(docs: list[Manifest]) -> None:
    for doc in workloads(docs):
        spec = pod_template(doc)["spec"]
        name = doc["metadata"]["name"]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] > 0, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec["automountServiceAccountToken"] is False, name
        for container in containers(doc):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["capabilities"] == {"drop": ["ALL"]}, name


def test_every_image_has_a_pinned_tag(docs: list[Manifest]) -> None:
    for doc in workloads(docs):
        for container in containers(doc):
            assert PINNED_TAG.match(container["image"]), container["image"]
    for cluster in of_kind(docs, "Cluster"):
        assert PINNED_TAG.match(cluster["spec"]["imageName"]), cluster["spec"]["imageName"]


def test_what_a_read_only_backend_writes_has_a_volume(docs: list[Manifest]) -> None:
    """The drain file and Prometheus' files (/tmp), Reflex's compiled state (/app/.web)."""
    backend = component(docs, "Deployment", "backend")
    (container,) = containers(backend)
    mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
    assert {"/tmp", "/app/.web"} <= mounts
    assert env_of(container)["DRAIN_FILE"]["value"].startswith("/tmp/")


def test_the_pdb_and_the_autoscaler_aim_at_the_backends(docs: list[Manifest]) -> None:
    backend = component(docs, "Deployment", "backend")
    pod_labels = pod_template(backend)["metadata"]["labels"]
    pdb = component(docs, "PodDisruptionBudget", "backend")
    selector = pdb["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod_labels.items()
    assert selector == backend["spec"]["selector"]["matchLabels"]
    frontend = component(docs, "Deployment", "frontend")
    assert not selector.items() <= pod_template(frontend)["metadata"]["labels"].items()
    hpa = component(docs, "HorizontalPodAutoscaler", "backend")
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", backend["metadata"]["name"])
    assert hpa["spec"]["minReplicas"] >= 2
    # The autoscaler owns the replica count: a fixed one would fight it on every upgrade.
    assert "replicas" not in backend["spec"]


def test_every_service_selects_the_pods_of_its_component(docs: list[Manifest]) -> None:
    pods = [pod_template(doc)["metadata"]["labels"] for doc in workloads(docs)]
    for service in of_kind(docs, "Service"):
        selector = service["spec"]["selector"]
        matched = [labels for labels in pods if selector.items() <= labels.items()]
        assert len(matched) == 1, service["metadata"]["name"]


def test_backends_roll_without_losing_capacity_and_drain_first(docs: list[Manifest]) -> None:
    backend = component(docs, "Deployment", "backend")
    assert backend["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    spec = pod_template(backend)["spec"]
    (container,) = spec["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/api/ping"
    # Liveness must not fail while draining (the drain file fails /api/ping and
    # /api/_health) nor when PostgreSQL or Redis are down (/api/_health).
    assert container["livenessProbe"]["httpGet"]["path"] not in ("/api/ping", "/api/_health")
    pre_stop = " ".join(container["lifecycle"]["preStop"]["exec"]["command"])
    assert 'touch "$DRAIN_FILE"' in pre_stop
    drain_seconds = int(re.findall(r"sleep (\d+)", pre_stop)[0])
    period = container["readinessProbe"]["periodSeconds"]
    assert drain_seconds > period * container["readinessProbe"]["failureThreshold"]
    assert spec["terminationGracePeriodSeconds"] > drain_seconds


def test_migrations_run_as_a_hook_before_the_deployments(docs: list[Manifest]) -> None:
    job = component(docs, "Job", "migrations")
    (container,) = pod_template(job)["spec"]["containers"]
    assert container["command"] == ["python", "-m", "app.prestart"]
    assert pod_template(job)["spec"]["restartPolicy"] == "Never"
    events = hook(job)
    # Upgrades: before the Deployments change, so a failed migration fails the upgrade
    # while the old replicas serve. First install: before them too, unless the release
    # makes the database itself (CloudNativePG).
    assert "pre-upgrade" in events
    database_made_here = bool(of_kind(docs, "Cluster"))
    assert ("post-install" if database_made_here else "pre-install") in events
    for doc in docs:
        if doc["kind"] in ("Deployment", "StatefulSet", "Cluster"):
            assert hook(doc) == [], f"{doc['kind']} {doc['metadata']['name']} is a hook"
    # The Secret the Job reads exists before it: made by the operator, or a hook of the
    # same events with a lower weight.
    secret_name = env_of(container)["SECRET_KEY"]["valueFrom"]["secretKeyRef"]["name"]
    hook_secrets = [s for s in of_kind(docs, "Secret") if s["metadata"]["name"] == secret_name]
    for secret in hook_secrets:
        assert hook(secret) == events
        assert hook_weight(secret) < hook_weight(job)
    assert "REDIS_URL" not in env_of(container)


@pytest.mark.parametrize("variant", VARIANTS)
def test_helm_runs_the_migrations_as_a_hook_and_tells_how_to_log_in(variant: str) -> None:
    """What `helm install` itself makes of the chart (client-side, no cluster): the Job
    and the Secret it reads are hooks, the Deployments release objects; NOTES render."""
    parts = install_dry_run(variant)
    hooks = [doc for doc in yaml.safe_load_all(parts["HOOKS"]) if doc]
    manifest = [doc for doc in yaml.safe_load_all(parts["MANIFEST"]) if doc]
    assert "Job" in {doc["kind"] for doc in hooks}
    assert "Job" not in {doc["kind"] for doc in manifest}
    assert {"Deployment"} <= {doc["kind"] for doc in manifest} - {doc["kind"] for doc in hooks}
    job = component(hooks, "Job", "migrations")["metadata"]["name"]
    assert f"kubectl -n app logs job/{job}" in parts["NOTES"]
    assert "FIRST_SUPERUSER_PASSWORD" in parts["NOTES"]


def test_metrics_are_never_routed_from_outside(docs: list[Manifest]) -> None:
    backend_service = component(docs, "Service", "backend")["metadata"]["name"]
    for ingress in of_kind(docs, "Ingress"):
        for rule in ingress["spec"]["rules"]:
            paths = rule["http"]["paths"]
            for path in ("/api/metrics", "/api/metrics/", "/api/metrics/x"):
                assert ingress_target(paths, path) != backend_service, path
            for path in ("/api", "/api/v1/items/", "/api/_event/", "/api/ping"):
                assert ingress_target(paths, path) == backend_service, path
            for path in ("/", "/login", "/items", "/apiary"):
                assert ingress_target(paths, path) != backend_service, path
    for route in of_kind(docs, "IngressRoute"):
        for rule in route["spec"]["routes"]:
            if any(s["name"] == backend_service for s in rule["services"]):
                assert "!Path(`/api/metrics`)" in rule["match"]
    assert of_kind(docs, "Ingress") or of_kind(docs, "IngressRoute")


def ingress_target(paths: list[Manifest], request_path: str) -> str | None:
    """The Service an Ingress sends a path to, by the Ingress API's matching rules: an
    Exact match first, then the longest Prefix, matched element by element."""
    best: tuple[int, str] | None = None
    for entry in paths:
        path, service = entry["path"], entry["backend"]["service"]["name"]
        if entry["pathType"] == "Exact" and path == request_path:
            return str(service)
        if entry["pathType"] == "Prefix":
            prefix = path.rstrip("/").split("/")
            parts = request_path.rstrip("/").split("/")
            if parts[: len(prefix)] == prefix and (best is None or len(prefix) > best[0]):
                best = (len(prefix), service)
    return best[1] if best else None


def test_the_ingress_sends_the_api_and_the_websocket_to_the_backend_service() -> None:
    docs = render_variant("evaluation")
    (ingress,) = of_kind(docs, "Ingress")
    backend = component(docs, "Service", "backend")
    paths = ingress["spec"]["rules"][0]["http"]["paths"]
    (api,) = [entry for entry in paths if entry["path"] == "/api"]
    assert api["backend"]["service"] == {
        "name": backend["metadata"]["name"],
        "port": {"name": backend["spec"]["ports"][0]["name"]},
    }
    assert ingress["spec"]["tls"][0]["hosts"] == [ingress["spec"]["rules"][0]["host"]]


def test_cert_manager_and_the_ingress_class_come_from_values() -> None:
    docs = render_variant("production")
    (ingress,) = of_kind(docs, "Ingress")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    annotations = ingress["metadata"]["annotations"]
    assert annotations["cert-manager.io/cluster-issuer"] == "letsencrypt-production"


def test_cloudnativepg_services_are_the_primary_and_replica_urls() -> None:
    docs = render_variant("evaluation")
    cluster = component(docs, "Cluster", "db")["metadata"]["name"]
    env = env_of(containers(component(docs, "Deployment", "backend"))[0])
    primary = env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert primary == {"name": f"{cluster}-app", "key": "uri"}
    assert f"@{cluster}-ro:5432/app" in env["DATABASE_REPLICA_URL"]["value"]


def test_env_references_name_variables_defined_before_them(docs: list[Manifest]) -> None:
    """Kubernetes expands $(NAME) in an env value only for a NAME defined earlier in the
    same list; anything else stays literal (the replica URL's user and password)."""
    for doc in workloads(docs):
        for container in containers(doc):
            defined: set[str] = set()
            for entry in container.get("env", []):
                for name in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", entry.get("value", "")):
                    assert name in defined, f"{container['name']}: {entry['name']} uses $({name})"
                defined.add(entry["name"])


def test_backups_go_to_object_storage_on_a_schedule() -> None:
    docs = render_variant("production")
    cluster = component(docs, "Cluster", "db")
    (store,) = of_kind(docs, "ObjectStore")
    (plugin,) = cluster["spec"]["plugins"]
    assert plugin["isWALArchiver"] is True
    assert plugin["parameters"]["barmanObjectName"] == store["metadata"]["name"]
    (scheduled,) = of_kind(docs, "ScheduledBackup")
    assert scheduled["spec"]["cluster"]["name"] == cluster["metadata"]["name"]
    assert scheduled["spec"]["method"] == "plugin"
    assert not of_kind(render_variant("evaluation"), "ScheduledBackup")


def test_external_services_come_from_existing_secrets() -> None:
    docs = render_variant("production")
    assert not of_kind(docs, "Secret"), "production values make no Secret"
    env = env_of(containers(component(docs, "Deployment", "backend"))[0])
    assert env["REDIS_URL"]["valueFrom"]["secretKeyRef"]["name"] == "full-stack-reflex-redis"
    assert env["SECRET_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "full-stack-reflex-secrets"
    assert not of_kind(docs, "StatefulSet")


def test_the_service_monitor_scrapes_the_backends_metrics() -> None:
    docs = render_variant("external")
    (monitor,) = of_kind(docs, "ServiceMonitor")
    service = component(docs, "Service", "backend")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= (
        service["metadata"]["labels"].items()
    )
    (endpoint,) = monitor["spec"]["endpoints"]
    assert (endpoint["port"], endpoint["path"]) == ("http", "/api/metrics")
    # The chart's own Secret (secrets.metricsToken is set in the external values).
    secret = f"{RELEASE}-full-stack-reflex"
    assert endpoint["authorization"]["credentials"] == {"name": secret, "key": "METRICS_TOKEN"}
    (production,) = of_kind(render_variant("production"), "ServiceMonitor")
    assert production["spec"]["endpoints"][0]["authorization"]["credentials"]["name"] == (
        "full-stack-reflex-secrets"
    )
    assert not of_kind(render_variant("evaluation"), "ServiceMonitor")
    unauthorised = render_variant("external", "--set", "secrets.metricsToken=")
    (open_scrape,) = of_kind(unauthorised, "ServiceMonitor")
    assert "authorization" not in open_scrape["spec"]["endpoints"][0]


def test_only_the_backends_reach_the_in_cluster_redis() -> None:
    docs = render_variant("evaluation")
    (policy,) = of_kind(docs, "NetworkPolicy")
    (rule,) = policy["spec"]["ingress"]
    (peer,) = rule["from"]
    backend = component(docs, "Deployment", "backend")
    assert peer["podSelector"]["matchLabels"] == backend["spec"]["selector"]["matchLabels"]


SECRETS = (
    "--set", "secrets.secretKey=a-real-key-of-32-bytes-at-the-least",
    "--set", "secrets.firstSuperuserPassword=pw",
)  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "secrets.secretKey is empty"),
        (("--set", "secrets.secretKey=short", *SECRETS[2:]),
         "secrets.secretKey is shorter than 32 bytes"),
        (("--set", "secrets.secretKey=changethis", *SECRETS[2:]),
         "secrets.secretKey is `changethis`"),
        ((*SECRETS[:2], "--set", "secrets.firstSuperuserPassword=changethis"),
         "secrets.firstSuperuserPassword is `changethis`"),
        ((*SECRETS, "--set", "secrets.smtpPassword=changethis"),
         "secrets.smtpPassword is `changethis`"),
        ((*SECRETS, "--set", "backend.image.tag=latest"), "pin the image tag"),
        ((*SECRETS, "--set", "database.mode=external"), "database.external.url is empty"),
        ((*SECRETS, "--set", "database.cloudnativepg.backup.enabled=true"),
         "needs at least destinationPath"),
        ((*SECRETS, "--set", "traefik.ingressRoute.enabled=true"), "enable one"),
        ((*SECRETS, "--set", "app.environment=local"), "value must be one of"),
        ((*SECRETS, "--set", "backend.replicas=3"), "additional properties 'replicas'"),
    ],
)  # fmt: skip
def test_values_that_must_not_install_fail_to_render(args: tuple[str, ...], message: str) -> None:
    assert message in render_error(*args)


def test_the_backend_trusts_the_ingress_controller_as_one_proxy_hop() -> None:
    # The image trusts none (a backend reached directly); behind the Ingress there is one.
    for variant in ("evaluation", "production", "external"):
        backend = component(render_variant(variant), "Deployment", "backend")
        (container,) = backend["spec"]["template"]["spec"]["containers"]
        assert env_of(container)["REFLEX_TRUSTED_PROXY_HOPS"].get("value") == "1", variant


def test_the_defaults_install_nothing_without_secrets() -> None:
    """values.yaml alone has no secret: the two required ones are all evaluation adds."""
    values = yaml.safe_load(values_file("evaluation").read_text())
    assert values == {"secrets": {"secretKey": ANY, "firstSuperuserPassword": ANY}}
    assert render("-f", str(values_file("evaluation")))
    assert "secrets.secretKey is empty" in render_error("-f", str(CHART / "values.yaml"))


def test_the_traefik_route_has_the_rules_of_the_compose_labels() -> None:
    docs = render_variant("external")
    (route,) = of_kind(docs, "IngressRoute")
    services = yaml.safe_load((PROJECT_ROOT / "compose.yml").read_text())["services"]
    host = "app.example.com"  # ingress.host's default
    for service, rule in zip(("backend", "frontend"), route["spec"]["routes"], strict=True):
        labels = services[service]["labels"]
        router = f"traefik.http.routers.{service}"
        compose_rule = labels[f"{router}.rule"].replace("${DOMAIN:-localhost}", host)
        assert rule["match"] == compose_rule
        assert rule["priority"] == int(labels[f"{router}.priority"])
        (target,) = rule["services"]
        assert target["name"] == component(docs, "Service", service)["metadata"]["name"]
