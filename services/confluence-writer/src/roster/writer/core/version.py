"""Which Confluence API to use for what, decided from the server's version alone.

Boundaries follow reference/confluence-dc-api.md §0 and the simulator's choices: 8.2 brings the
admin group, membership and disable/enable/delete REST endpoints, 8.4 user creation and the
all-users list, 9.3 the REST profile update. Parsing only: fetching the manifest is an
adapter's job.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

Version = tuple[int, int]

V8_2: Version = (8, 2)
V8_4: Version = (8, 4)
V9_3: Version = (9, 3)
OLDEST: Version = (7, 1)
NEWEST: Version = (9, 3)

_VERSION = re.compile(r"^\s*(\d+)\.(\d+)(?:\.\d+)*(?:[-.][0-9A-Za-z-]+)?\s*$")
_XML_VERSION = re.compile(r"<(?:\w+:)?version>\s*([^<\s]+)\s*</(?:\w+:)?version>")


def parse_version(text: str) -> Version:
    """`"8.4"`, `"8.4.1"` or `"9.3.0-m12"` → (major, minor); ValueError for anything else."""
    match = _VERSION.match(text)
    if match is None:
        raise ValueError(f"not a Confluence version: {text!r}")
    return int(match.group(1)), int(match.group(2))


def version_from_manifest(body: str) -> Version:
    """The version in an Application Links manifest, JSON or XML (reference §10).

    The XML form is read with a pattern rather than an XML parser: the one element needed is
    flat text, and the writer parses no XML anywhere else (no entity expansion surface).
    """
    text = body.strip()
    if text.startswith("{"):
        data = json.loads(text)
        value = data.get("version") if isinstance(data, dict) else None
        if not isinstance(value, str):
            raise ValueError("manifest JSON has no version")
        return parse_version(value)
    match = _XML_VERSION.search(text)
    if match is None:
        raise ValueError("manifest has no <version> element")
    return parse_version(match.group(1))


def render(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


@dataclass(frozen=True)
class Capabilities:
    """What a given server offers; every REST-or-RPC choice in the client reads one flag."""

    version: Version

    @property
    def rest_admin(self) -> bool:
        """Groups, memberships, disable / enable / delete user over REST (8.2+)."""
        return self.version >= V8_2

    @property
    def rest_create_user(self) -> bool:
        return self.version >= V8_4

    @property
    def list_all_users(self) -> bool:
        """`GET /rest/api/user/list`, deactivated users included (8.4+)."""
        return self.version >= V8_4

    @property
    def rest_update_user(self) -> bool:
        """`PUT /rest/api/admin/user/{u}`; unverified before 9.4, the simulator offers it in 9.3."""
        return self.version >= V9_3

    @property
    def supported(self) -> bool:
        return OLDEST <= self.version <= NEWEST
