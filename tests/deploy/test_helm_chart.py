"""The Helm chart, checked offline: `helm lint --strict`, `helm template`, the rendered objects,
the configuration each pod would load, and the alert rules with `promtool`.

Tools come from `scripts/tools.sh` (pinned Helm wheel from PyPI, Debian's promtool); a missing
tool fails the tests (as CI must), it never skips them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from roster.shared.config import RosterConfig, parse_config

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "roster"
CI_VALUES = CHART / "ci" / "values-ci.yaml"
TOOLS = ROOT / ".cache" / "tools"


def tool(name: str, path: Path) -> str:
    found = os.environ.get(name.upper()) or (str(path) if path.exists() else shutil.which(name))
    if not found:
        pytest.fail(f"{name} not found: run scripts/tools.sh (make test does)")
    return found


@pytest.fixture(scope="module")
def helm() -> str:
    return tool("helm", TOOLS / "helm" / "helm")


@pytest.fixture(scope="module")
def promtool() -> str:
    return tool("promtool", TOOLS / "prometheus" / "usr" / "bin" / "promtool")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def rendered(helm: str) -> list[dict[str, Any]]:
    out = run(helm, "template", "rel", str(CHART), "-f", str(CI_VALUES))
    assert out.returncode == 0, out.stderr
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def objects(rendered: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in rendered if o["kind"] == kind}


def test_lint_strict(helm: str) -> None:
    out = run(helm, "lint", "--strict", str(CHART), "-f", str(CI_VALUES))
    assert out.returncode == 0, out.stdout + out.stderr


def test_schema_rejects_a_bad_directory_id(helm: str) -> None:
    out = run(
        helm,
        "template",
        "rel",
        str(CHART),
        "--set-json",
        'config.directories=[{"id":"Bad Id","kind":"okta"}]',
    )
    assert out.returncode != 0
    assert "id" in out.stderr


def test_one_deployment_per_service_and_per_directory(rendered: list[dict[str, Any]]) -> None:
    deployments = objects(rendered, "Deployment")
    assert sorted(deployments) == [
        "rel-roster-fetcher-corp",
        "rel-roster-fetcher-partners",
        "rel-roster-reconciler",
        "rel-roster-scheduler",
        "rel-roster-writer",
    ]
    services = objects(rendered, "Service")
    assert set(services) == set(deployments)


def test_containers_probe_limit_and_run_unprivileged(rendered: list[dict[str, Any]]) -> None:
    for name, deployment in objects(rendered, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        (container,) = pod["containers"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        assert container["resources"]["limits"]["memory"], name
        assert container["securityContext"]["readOnlyRootFilesystem"] is True, name
        selector = deployment["spec"]["selector"]["matchLabels"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), name
        assert deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"]


def pod_config(rendered: list[dict[str, Any]], deployment: str) -> RosterConfig:
    """The configuration the pod's process would load: the ConfigMap plus its environment."""
    config_map = objects(rendered, "ConfigMap")["rel-roster-config"]
    data = yaml.safe_load(config_map["data"]["roster.yaml"])
    (container,) = objects(rendered, "Deployment")[deployment]["spec"]["template"]["spec"][
        "containers"
    ]
    env = {e["name"]: e.get("value") for e in container["env"]}
    plain = {k: v for k, v in env.items() if v is not None}
    secret = {k: "from-secret" for k, v in env.items() if v is None}
    saved = dict(os.environ)
    os.environ.update(plain | secret)
    try:
        config = parse_config(data)
        config.confluence.auth.token.reveal()  # type: ignore[union-attr]
        for directory in config.directories:
            assert directory.keycloak is not None
            directory.keycloak.client_secret.reveal()
        for api_token in config.scheduler.auth.tokens:
            api_token.token.reveal()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return config


def test_each_pod_loads_a_valid_configuration(rendered: list[dict[str, Any]]) -> None:
    fetcher = pod_config(rendered, "rel-roster-fetcher-partners")
    assert fetcher.fetcher.directories == ["partners"]
    assert fetcher.fetcher.http.host == "0.0.0.0"
    writer = pod_config(rendered, "rel-roster-writer")
    assert writer.writer.http.host == "0.0.0.0"
    assert writer.kafka.bootstrap_servers.startswith("kafka-0")
    scheduler = pod_config(rendered, "rel-roster-scheduler")
    assert scheduler.scheduler.http.port == 8100
    # connection checks go to each directory's own fetcher Service
    assert scheduler.scheduler.fetcher_url == "http://rel-roster-fetcher-{directory}:8101"
    assert "rel-roster-fetcher-corp" in objects(rendered, "Service")
    assert [(t.name, t.role) for t in scheduler.scheduler.auth.tokens] == [
        ("ops", "operator"),
        ("grafana", "viewer"),
    ]
    assert scheduler.scheduler.retention.max_runs == 500
    assert scheduler.directory("corp").schedule.full == "0 2 * * *"


def test_secrets_come_only_from_secret_refs(rendered: list[dict[str, Any]]) -> None:
    text = json.dumps(rendered)
    assert "from-secret" not in text
    for deployment in objects(rendered, "Deployment").values():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        refs = {
            e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e
        }
        assert refs["CONFLUENCE_TOKEN"] == {"name": "roster-confluence", "key": "token"}
        assert refs["KEYCLOAK_CLIENT_SECRET"] == {"name": "roster-keycloak", "key": "client-secret"}
        assert refs["ROSTER_OPS_TOKEN"] == {"name": "roster-admin", "key": "operator-token"}


def test_ingress_routes_the_ui_and_each_directorys_webhooks(rendered: list[dict[str, Any]]) -> None:
    (ingress,) = objects(rendered, "Ingress").values()
    paths = {
        p["path"]: p["backend"]["service"]["name"]
        for p in ingress["spec"]["rules"][0]["http"]["paths"]
    }
    assert paths["/"] == "rel-roster-scheduler"
    assert paths["/webhooks/keycloak/corp"] == "rel-roster-fetcher-corp"


def test_dashboard_is_valid_json_on_known_metrics(rendered: list[dict[str, Any]]) -> None:
    board = json.loads(
        objects(rendered, "ConfigMap")["rel-roster-dashboard"]["data"]["roster.json"]
    )
    exprs = [t["expr"] for p in board["panels"] for t in p["targets"]]
    assert len(exprs) >= 8
    assert any("roster_writer_commands_total" in e for e in exprs)


@pytest.fixture(scope="module")
def rules_file(rendered: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The PrometheusRule's `.spec` as rendered, as a plain rules file next to its unit tests."""
    (rule,) = objects(rendered, "PrometheusRule").values()
    folder = tmp_path_factory.mktemp("rules")
    (folder / "alerts.yaml").write_text(yaml.safe_dump(rule["spec"]))
    shutil.copy(Path(__file__).with_name("alerts_test.yaml"), folder / "alerts_test.yaml")
    return folder / "alerts.yaml"


def test_alert_rules_check(promtool: str, rules_file: Path) -> None:
    out = run(promtool, "check", "rules", str(rules_file))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


def test_alert_rules_unit_tests(promtool: str, rules_file: Path) -> None:
    out = run(promtool, "test", "rules", str(rules_file.with_name("alerts_test.yaml")))
    assert out.returncode == 0, out.stdout + out.stderr
