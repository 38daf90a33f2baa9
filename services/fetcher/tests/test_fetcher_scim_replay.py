"""Replays of the documented Entra ID and Okta request sequences (golden/scim/*.json) against
the fetcher on the real Kafka and Redis: every status, the bodies' key fields, the SCIM media
type, and the normalised changes the sequence leaves in the directory's change stream."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as redis
from fetcher_scim_support import REDIS_URL, SCIM, TOKEN_A, new_prefix, running_fetcher, set_tokens

from roster.fetcher.connectors.scim import ScimConnector
from roster.fetcher.scim.store import ScimStore
from roster.shared.redisdb import Keys

pytestmark = pytest.mark.integration
GOLDEN = Path(__file__).parent / "golden" / "scim"


def substitute(value: Any, saved: dict[str, str]) -> Any:
    text = json.dumps(value)
    text = re.sub(r"\{\{(\w+)\}\}", lambda m: saved[m.group(1)], text)
    return json.loads(text)


def contains(have: Any, want: Any, where: str = "body") -> None:
    if isinstance(want, dict):
        assert isinstance(have, dict), f"{where}: expected an object, got {have!r}"
        for key, value in want.items():
            assert key in have, f"{where}: no key {key!r} in {sorted(have)}"
            contains(have[key], value, f"{where}.{key}")
    elif isinstance(want, list):
        assert isinstance(have, list), f"{where}: expected a list, got {have!r}"
        assert len(have) == len(want), f"{where}: {len(have)} items, expected {len(want)}"
        for i, (h, w) in enumerate(zip(have, want, strict=True)):
            contains(h, w, f"{where}[{i}]")
    else:
        assert have == want, f"{where}: {have!r} != {want!r}"
        assert type(have) is type(want), f"{where}: {type(have).__name__} not {type(want).__name__}"


@pytest.mark.parametrize("name", ["entra", "okta"])
async def test_replay(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    set_tokens(monkeypatch)
    golden = json.loads((GOLDEN / f"{name}.json").read_text())
    async with running_fetcher(new_prefix(), batch_seconds=30) as fetcher:
        saved: dict[str, str] = {}
        async with fetcher.scim(TOKEN_A) as scim:
            scim.headers.update(golden.get("headers", {}))
            for number, step in enumerate(golden["steps"], 1):
                label = f"{name} step {number} ({step['note']})"
                req = substitute(step["request"], saved)
                kwargs: dict[str, Any] = {}
                if "body" in req:
                    kwargs["content"] = json.dumps(req["body"])
                response = await scim.request(req["method"], req["path"], **kwargs)
                expect = substitute(step["expect"], saved)
                assert response.status_code == expect["status"], f"{label}: {response.text}"
                if response.status_code == 204:
                    assert response.content == b"", label
                    continue
                assert response.headers["content-type"].startswith(SCIM), label
                body = response.json()
                if "body" in expect:
                    contains(body, expect["body"], label)
                for key in expect.get("absent", []):
                    assert key not in body, f"{label}: {key!r} must not be returned"
                for var, key in step.get("save", {}).items():
                    saved[var] = body[key]
        store = ScimStore(
            redis.Redis.from_url(REDIS_URL, decode_responses=True), Keys(fetcher.prefix), "scim-a"
        )
        try:
            seen = [item["k"] async for _, items in store.changes_since("0-0") for item in items]
        finally:
            await store.redis.aclose()
        assert seen == golden["changes"]


def test_connector_needs_its_store() -> None:
    from roster.shared.config import DirectorySettings

    connector = ScimConnector(
        DirectorySettings(id="s", kind="scim", scim={"tokens": [{"env": "X"}]})
    )
    with pytest.raises(Exception, match="not attached"):
        _ = connector.store
