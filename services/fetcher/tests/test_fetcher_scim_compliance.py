"""scim2-tester (pinned) against the fetcher's SCIM endpoint, served by uvicorn on the real
stack: discovery, CRUD, PATCH add/remove/replace, attribute selection, misc. No check may end
in ERROR or CRITICAL."""

from __future__ import annotations

import asyncio

import httpx2
import pytest
from fetcher_scim_support import TOKEN_A, new_prefix, require_stack, scim_config, set_tokens
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from roster.fetcher.app import build_app
from roster.simulators.common.serving import Servers

pytestmark = pytest.mark.integration


def run_checker(base: str) -> list:
    with httpx2.Client(
        base_url=f"{base}/scim/v2", headers={"Authorization": f"Bearer {TOKEN_A}"}
    ) as http:
        client = SyncSCIMClient(http)
        return check_server(client, resource_types=["User", "Group"])


async def test_scim2_tester_finds_no_error(monkeypatch: pytest.MonkeyPatch) -> None:
    set_tokens(monkeypatch)
    await require_stack()
    servers = Servers()
    base = await servers.start(build_app(scim_config(new_prefix())))
    try:
        results = await asyncio.to_thread(run_checker, base)
    finally:
        await servers.close()
    bad = [r for r in results if r.status in (Status.ERROR, Status.CRITICAL)]
    summary = "\n".join(f"{r.status.name} {r.title}: {r.reason}" for r in bad)
    assert results, "scim2-tester ran no check"
    assert not bad, summary
    assert sum(r.status == Status.SUCCESS for r in results) >= 20
