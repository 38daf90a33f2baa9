"""`python -m roster.simulators.okta` flags → `OktaSimConfig`."""

from __future__ import annotations

from pathlib import Path

import pytest
from okta_sim_helpers import PUBLIC_PEM

from roster.simulators.okta.__main__ import parse_args


def test_flags_become_the_config(tmp_path: Path) -> None:
    key = tmp_path / "app.pem"
    key.write_text(PUBLIC_PEM)
    config, host, port = parse_args(
        ["--port", "9099", "--api-token", "t", "--users", "10", "--groups", "3",
         "--memberships", "20", "--client-id", "0oa1", "--public-key", str(key)]
    )  # fmt: skip
    assert (host, port) == ("127.0.0.1", 9099)
    assert (config.users, config.groups, config.memberships) == (10, 3, 20)
    assert config.client_id == "0oa1"
    assert config.public_key_pem == PUBLIC_PEM
    assert config.base_url == "http://127.0.0.1:9099"


def test_client_id_needs_a_public_key() -> None:
    with pytest.raises(SystemExit):
        parse_args(["--api-token", "t", "--client-id", "0oa1"])
