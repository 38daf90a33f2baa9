"""Rule settings: bad values are refused at load, naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from roster.shared.config import parse_config
from roster.shared.errors import ConfigurationError

BAD_REWRITE = {"pattern": "[", "replace": ""}
SKIPPED_USERNAME = {"expr": "x", "when_empty": "skip"}


def _directory(**fields: Any) -> dict[str, Any]:
    return {"id": "kc", "kind": "ldap", **fields}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"directories": [_directory(groups={"required": ["re:("]})]},
         r"directories\.0\.groups\.required: .*invalid regular expression 're:\('"),
        ({"directories": [_directory(groups={"exclude": [" "]})]},
         r"directories\.0\.groups\.exclude: .*must not be empty"),
        ({"directories": [_directory(groups={"names": {"rewrite": [BAD_REWRITE]}})]},
         r"directories\.0\.groups\.names\.rewrite\.0\.pattern: .*invalid regular expression"),
        ({"directories": [_directory(attributes={"username": SKIPPED_USERNAME})]},
         r"directories\.0\.attributes: .*username\.when_empty"),
        ({"directories": [_directory(attributes={"email": {"expr": "x", "when_empty": "maybe"}})]},
         r"directories\.0\.attributes\.email\.when_empty"),
        ({"directories": [_directory(cleanup={"inactive_days": 0})]},
         r"directories\.0\.cleanup\.inactive_days"),
        ({"directories": [_directory(delete_after_days=0)]},
         r"directories\.0\.delete_after_days"),
        ({"directories": [_directory(correlate_by="upn")]}, r"directories\.0\.correlate_by"),
        ({"directories": [_directory()], "confluence": {"directory_precedence": ["kc", "zz"]}},
         r"confluence\.directory_precedence: unknown directories: zz"),
    ],
)  # fmt: skip
def test_bad_rule_settings_name_the_field(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_config(data)


def test_good_rule_settings_load() -> None:
    config = parse_config(
        {
            "confluence": {"directory_precedence": ["kc"], "administrator_groups": []},
            "directories": [
                _directory(
                    groups={"required": ["staff", "re:eng-.*"], "flatten_nested": True,
                            "names": {"map": {"A": "b"}, "case": "kebab", "prefix": "x-"}},
                    attributes={"email": {"expr": "guest_email(email)", "when_empty": "skip"}},
                    correlate_by="email",
                    delete_after_days=30,
                    cleanup={"inactive_days": 90, "groups": ["re:contract.*"]},
                )
            ],
        }
    )  # fmt: skip
    directory = config.directories[0]
    assert directory.groups.required == ["staff", "re:eng-.*"]
    assert directory.cleanup is not None
    assert directory.cleanup.inactive_days == 90
    assert config.confluence.administrator_groups == []
