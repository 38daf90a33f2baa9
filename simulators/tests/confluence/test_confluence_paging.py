"""Paging envelope: exact keys, `_links.next` only while more remain, caps and validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from confluence_support import BASE, SimFactory


async def test_walk_450_users_following_next(make_sim: SimFactory) -> None:
    sim = await make_sim("8.4")
    await sim.seed([{"username": f"user{n:03d}", "active": n % 3 != 0} for n in range(450)])
    seen: list[str] = []
    statuses: set[str] = set()
    url: str | None = "/rest/api/user/list?expand=status"
    pages = 0
    while url is not None:
        page = (await sim.client.get(url)).json()
        assert set(page) == {"results", "start", "limit", "size", "_links"}
        assert page["size"] == len(page["results"])
        assert page["_links"]["base"] == BASE
        assert page["_links"]["context"] == ""
        assert page["_links"]["self"].startswith(BASE + "/rest/api/user/list")
        seen += [p["username"] for p in page["results"]]
        statuses |= {p["status"] for p in page["results"]}
        url = page["_links"].get("next")
        pages += 1
    assert pages == 3  # 200 + 200 + 51 (450 seeded + admin)
    assert len(seen) == 451 == len(set(seen))
    assert seen == sorted(seen)
    assert statuses == {"current", "deactivated"}


async def test_next_keeps_other_params_and_is_absent_on_last_page(make_sim: SimFactory) -> None:
    sim = await make_sim("8.4")
    await sim.seed([{"username": f"u{n}"} for n in range(9)])
    first = (await sim.client.get("/rest/api/user/list?limit=5&expand=status")).json()
    assert first["limit"] == 5
    assert first["_links"]["next"] == "/rest/api/user/list?limit=5&expand=status&start=5"
    last = (await sim.client.get(first["_links"]["next"])).json()
    assert last["size"] == 5
    assert "next" not in last["_links"]
    exact = (await sim.client.get("/rest/api/user/list?start=5&limit=10")).json()
    assert exact["size"] == 5
    assert "next" not in exact["_links"]


async def test_limit_is_capped_at_200(make_sim: SimFactory) -> None:
    sim = await make_sim("8.4")
    await sim.seed([{"username": f"u{n:03d}", "groups": ["big"]} for n in range(250)])
    page = (await sim.client.get("/rest/api/group/big/member?limit=1000")).json()
    assert (page["limit"], page["size"]) == (200, 200)
    assert page["_links"]["next"].endswith("start=200")
    default = (await sim.client.get("/rest/api/group/big/member")).json()
    assert default["limit"] == 200


@pytest.mark.parametrize("query", ["start=-1", "limit=-5", "start=abc", "limit=1.5", "limit=ten"])
@pytest.mark.parametrize(
    "path", ["/rest/api/user/list", "/rest/api/group", "/rest/api/group/confluence-users/member"]
)
async def test_bad_paging_params_are_400(make_sim: SimFactory, path: str, query: str) -> None:
    sim = await make_sim("8.4")
    response = await sim.client.get(f"{path}?{query}")
    assert response.status_code == 400
    assert response.json()["statusCode"] == 400


async def test_group_list_pages(make_sim: SimFactory) -> None:
    sim = await make_sim("7.13")
    await sim.seed([], groups=[f"g{n:02d}" for n in range(10)])
    first = (await sim.client.get("/rest/api/group?limit=7")).json()
    assert first["size"] == 7
    rest = (await sim.client.get(first["_links"]["next"])).json()
    names = [g["name"] for g in first["results"] + rest["results"]]
    assert len(names) == 12  # plus the two built-in groups
    assert "next" not in rest["_links"]


async def test_active_users_sorted_by_last_login_without_lastlogin_field(
    make_sim: SimFactory,
) -> None:
    sim = await make_sim("9.3")
    now = datetime(2025, 6, 1, tzinfo=UTC)
    await sim.seed(
        [
            {"username": "recent", "lastLogin": (now - timedelta(days=1)).isoformat()},
            {"username": "stale", "lastLogin": (now - timedelta(days=400)).isoformat()},
            {"username": "middle", "lastLogin": (now - timedelta(days=30)).isoformat()},
            {"username": "gone", "active": False, "lastLogin": now.isoformat()},
        ]
    )
    set_login = await sim.client.put(
        "/_sim/users/admin/last-login", json={"lastLogin": (now - timedelta(days=10)).isoformat()}
    )
    assert set_login.status_code == 200
    page = (await sim.client.get("/rest/api/admin/users/list/active?expand=lastLogin")).json()
    assert [p["username"] for p in page["results"]] == ["stale", "middle", "admin", "recent"]
    assert all("lastLogin" not in p for p in page["results"])
    state = {u["username"]: u for u in (await sim.state())["users"]}
    assert state["admin"]["lastLogin"].startswith("2025-05-22")
    second = (await sim.client.get("/rest/api/admin/users/list/active?start=1&limit=2")).json()
    assert [p["username"] for p in second["results"]] == ["middle", "admin"]
