"""The alerting rules and the Alertmanager config, checked by the tools that load them:
promtool (syntax, then each rule's unit tests in alerts.test.yml) and amtool."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from app.core.config import PROJECT_ROOT
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
    fired, quiet = set(), set()
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
