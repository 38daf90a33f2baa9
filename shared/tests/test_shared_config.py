"""Configuration: errors name the field, environment overrides, secrets stay out of YAML."""

from __future__ import annotations

from pathlib import Path

import pytest

from roster.shared.config import SecretRef, load_config, parse_config
from roster.shared.errors import ConfigurationError

KEYCLOAK = {
    "id": "kc",
    "kind": "keycloak",
    "keycloak": {
        "base_url": "http://kc",
        "realm": "r",
        "client_id": "c",
        "client_secret": {"env": "KC_SECRET"},
    },
}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"directories": [{**KEYCLOAK, "id": "Bad Id"}]}, "directories.0.id"),
        ({"directories": [{"id": "kc", "kind": "keycloak"}]}, "directories.0"),
        ({"directories": [KEYCLOAK, KEYCLOAK]}, "directory ids must be unique"),
        ({"kafka": {"partitions": 0}}, "kafka.partitions"),
        ({"writer": {"concurrency": "many"}}, "writer.concurrency"),
        ({"confluence": {"auth": {"username": "a"}}}, "confluence.auth"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_invalid_configuration_names_the_field(data: dict, field: str) -> None:
    with pytest.raises(ConfigurationError, match=field.replace(".", r"\.")):
        parse_config(data)


def test_environment_overrides_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "roster.yaml"
    path.write_text("kafka:\n  bootstrap_servers: yaml:1\n  topic_prefix: p.\n")
    monkeypatch.setenv("ROSTER_KAFKA__BOOTSTRAP_SERVERS", "env:2")
    config = load_config(path)
    assert config.kafka.bootstrap_servers == "env:2"
    assert config.kafka.topic_prefix == "p."


def test_secret_refs_read_env_or_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S1", "from-env")
    (tmp_path / "s").write_text("from-file\n")
    assert SecretRef(env="S1").reveal() == "from-env"
    assert SecretRef(file=tmp_path / "s").reveal() == "from-file"
    assert "from-env" not in repr(SecretRef(env="S1"))
    with pytest.raises(ConfigurationError, match="NOPE"):
        SecretRef(env="NOPE").reveal()
    with pytest.raises(ValueError, match="exactly one"):
        SecretRef()


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read configuration file"):
        load_config(tmp_path / "missing.yaml")
