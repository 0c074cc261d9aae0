"""The alerting rules and the Alertmanager config, checked by the tools that load them:
promtool (syntax, then each rule's unit tests in alerts.test.yml) and amtool."""

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from app.core.config import PROJECT_ROOT, settings
from app.emails import EmailMessage, sending
from app.services import rate_limits
from app.ui.state.event import observed
from tests.conftest import DEFAULT_RATES, Account
from tests.skip_policy import unavailable

MONITORING = PROJECT_ROOT / "docker/monitoring"
RULES = MONITORING / "prometheus/alerts.yml"
RULE_TESTS = MONITORING / "prometheus/alerts.test.yml"
ALERTMANAGER = MONITORING / "alertmanager/alertmanager.yml"


def tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        unavailable(f"{name} is missing (apt-get install {package})")
    return path


def run(*command: str, cwd: Path) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    return output


def test_the_rules_load() -> None:
    output = run(tool("promtool", "prometheus"), "check", "rules", RULES.name, cwd=RULES.parent)
    assert "SUCCESS: 7 rules found" in output


def test_every_rule_fires_and_stays_quiet_as_its_unit_tests_say() -> None:
    run(tool("promtool", "prometheus"), "test", "rules", RULE_TESTS.name, cwd=RULES.parent)


def test_every_rule_has_unit_tests_that_fire_it() -> None:
    rules = {
        rule["alert"]
        for group in yaml.safe_load(RULES.read_text())["groups"]
        for rule in group["rules"]
    }
    fired: set[str] = set()
    quiet: set[str] = set()
    for case in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        for check in case["alert_rule_test"]:
            (fired if check["exp_alerts"] else quiet).add(check["alertname"])
    assert fired == rules
    assert quiet == rules


@pytest.mark.parametrize("path", [ALERTMANAGER], ids=["alertmanager.yml"])
def test_the_alertmanager_config_is_valid(path: Path) -> None:
    output = run(
        tool("amtool", "prometheus-alertmanager"), "check-config", str(path), cwd=MONITORING
    )
    assert "SUCCESS" in output


PROMETHEUS = MONITORING / "prometheus/prometheus.yml"
GRAFANA = MONITORING / "grafana"
DASHBOARD = GRAFANA / "dashboards/backend.json"
DATASOURCES = GRAFANA / "provisioning/datasources/datasources.yml"
# Grafana's own variables, as Grafana replaces them before a query reaches Prometheus.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__range": "6h", "$__interval": "15s"}


def test_the_prometheus_config_loads_with_its_rules() -> None:
    output = run(
        tool("promtool", "prometheus"), "check", "config", PROMETHEUS.name, cwd=PROMETHEUS.parent
    )
    assert "SUCCESS: 7 rules found" in output


def compose_services() -> dict[str, Any]:
    return dict(yaml.safe_load((PROJECT_ROOT / "compose.yml").read_text())["services"])


def test_prometheus_scrapes_every_backend_replica_by_the_services_name() -> None:
    services = compose_services()
    [job] = [
        job
        for job in yaml.safe_load(PROMETHEUS.read_text())["scrape_configs"]
        if job["job_name"] == "backend"
    ]
    assert job["metrics_path"] == "/api/metrics"
    [lookup] = job["dns_sd_configs"]
    backend_port = services["backend"]["labels"][
        "traefik.http.services.backend.loadbalancer.server.port"
    ]
    assert lookup == {
        "names": ["backend"],
        "type": "A",
        "port": int(backend_port),
        "refresh_interval": "15s",
    }
    # One shared network: the name resolves once per replica, not once per network.
    assert services["prometheus"]["networks"] == ["traefik-public"]
    assert "traefik-public" in services["backend"]["networks"]
    assert services["proxy"]["environment"]["TRAEFIK_METRICS_PROMETHEUS"] == "true"


def test_the_monitoring_profile_mounts_files_that_exist() -> None:
    services = compose_services()
    monitoring = {
        name for name, service in services.items() if "monitoring" in service.get("profiles", [])
    }
    assert monitoring == {"prometheus", "alertmanager", "grafana", "loki", "vector"}
    for name in monitoring:
        for volume in services[name].get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (PROJECT_ROOT / source).exists(), (name, source)


def dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


def prometheus_queries() -> list[str]:
    queries = []
    for panel in dashboard()["panels"]:
        for target in panel.get("targets", []):
            if target["datasource"]["type"] == "prometheus":
                query = target["expr"]
                for variable, value in GRAFANA_VARIABLES.items():
                    query = query.replace(variable, value)
                queries.append(query)
    return queries


def test_the_dashboard_is_a_grafana_dashboard_on_the_provisioned_sources() -> None:
    board = dashboard()
    assert board["uid"] and board["title"] and isinstance(board["schemaVersion"], int)
    sources = {
        source["uid"]: source["type"]
        for source in yaml.safe_load(DATASOURCES.read_text())["datasources"]
    }
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        position = panel["gridPos"]
        assert position["x"] + position["w"] <= 24 and position["h"] > 0, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["title"] and panel["targets"], panel
        for target in [panel, *panel["targets"]]:
            assert sources[target["datasource"]["uid"]] == target["datasource"]["type"]
    titles = " ".join(panel["title"] for panel in board["panels"]).lower()
    for topic in ("requests", "status", "latency", "ui events", "pool", "logins", "emails"):
        assert topic in titles, topic
    # The provider loads the folder compose mounts the dashboards into.
    provider = yaml.safe_load((GRAFANA / "provisioning/dashboards/dashboards.yml").read_text())
    mounted = [v.split(":")[1] for v in compose_services()["grafana"]["volumes"]]
    assert provider["providers"][0]["options"]["path"] in mounted


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    # promtool parses rule expressions exactly as Prometheus parses queries.
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{n}", "expr": query}
                    for n, query in enumerate(prometheus_queries())
                ],
            }
        ]
    }
    (tmp_path / "dashboard.rules.yml").write_text(yaml.safe_dump(rules))
    output = run(
        tool("promtool", "prometheus"), "check", "rules", "dashboard.rules.yml", cwd=tmp_path
    )
    assert f"SUCCESS: {len(prometheus_queries())} rules found" in output


# What a query names besides metrics: functions, keywords, label names in `by (...)`.
PROMQL_WORDS = re.compile(
    r"\b(by|without|on|ignoring|group_left|group_right|bool|and|or|unless|offset)\b"
)


def metric_names(query: str) -> set[str]:
    query = re.sub(r'"[^"]*"', "", query)
    query = re.sub(r"\{[^}]*\}", "", query)
    query = re.sub(r"\[[^\]]*\]", "", query)
    query = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", query)
    query = PROMQL_WORDS.sub("", query)
    names = set(re.findall(r"\b([a-zA-Z_:][\w:]*)\b(?!\s*\()", query))
    return {name for name in names if not re.fullmatch(r"\d.*|e\d*", name)}


def test_metric_names_are_read_out_of_queries() -> None:
    query = (
        "histogram_quantile(0.95, sum by (le, route) (rate(http_request_duration_seconds_bucket"
        '{job="backend",route=~"/api/v1/.*"}[1m]))) / sum(up{job="backend"})'
    )
    assert metric_names(query) == {"http_request_duration_seconds_bucket", "up"}


async def test_the_dashboard_uses_only_metrics_the_backend_exposes(
    client: httpx.AsyncClient, normal_user: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Labelled series exist once something happened: a request, logins right and
    # wrong, a refused sign-up, an email, a UI handler run.
    rates = {**DEFAULT_RATES, rate_limits.Limit.SIGNUPS_PER_ADDRESS: "1/hour"}
    monkeypatch.setattr(rate_limits, "limiter", rate_limits.RateLimiter(rates))
    for n in range(2):
        await client.post(
            f"{settings.API_V1_STR}/users/signup",
            json={"email": f"dash{n}@example.com", "password": "x" * 12},
        )
    await client.get(f"{settings.API_V1_STR}/users/me", headers=normal_user.headers)
    for password in (normal_user.password, "a-wrong-password"):
        await client.post(
            f"{settings.API_V1_STR}/login/access-token",
            data={"username": normal_user.email, "password": password},
        )
    await sending.send_email("someone@example.com", EmailMessage(subject="s", html="h", text="h"))

    async def open_page(_state: object) -> None:
        pass

    await observed(open_page)(object())
    scraped = (await client.get("/api/metrics")).text
    exposed = {
        found.name for family in text_string_to_metric_families(scraped) for found in family.samples
    }
    # `up` is Prometheus's own, for every target.
    used = set().union(*map(metric_names, prometheus_queries()))
    assert used - exposed == {"up"}
