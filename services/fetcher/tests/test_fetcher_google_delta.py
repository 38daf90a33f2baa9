"""Incremental sync of the Google connector against the simulator: the admin audit log
(Reports API) since a cursor, push hints from `users.watch`, and cursor expiry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fetcher_support import FakeClock, FakeSleep, collect
from google_fetcher_support import Setup, asgi, connector_on, google_directory, make_sim, write_key

from roster.fetcher.core.changes import (
    ChangeSet,
    CursorExpired,
    GroupDeleted,
    GroupUpserted,
    MemberAdded,
    MemberRemoved,
    UserDeleted,
    UserUpserted,
)


@pytest.fixture
async def s(tmp_path: Path) -> AsyncIterator[Setup]:
    clock = FakeClock(1_790_000_000.0)
    sleep = FakeSleep(clock)
    app = make_sim(clock)
    key = write_key(app, tmp_path / "sa.json")
    client, ctl = asgi(app), asgi(app)
    yield Setup(
        app, ctl, connector_on(app, google_directory(key), client, clock, sleep), clock, sleep
    )
    await client.aclose()
    await ctl.aclose()


async def synced(s: Setup) -> tuple[str, dict[str, Any]]:
    """A full snapshot as the fetcher runs it: cursor first, then the snapshot."""
    cursor = await s.connector.start_cursor()
    await collect(s.connector)
    s.clock.advance(5)
    return cursor, await s.sim_get("/_sim/directory")


def kinds(changes: ChangeSet) -> list[str]:
    return [type(c).__name__ for c in changes.changes]


async def test_no_change_gives_an_empty_change_set(s: Setup) -> None:
    cursor, _ = await synced(s)
    changes = await s.connector.changes(cursor)
    assert changes.changes == ()
    again = await s.connector.changes(changes.cursor)
    assert again.changes == ()


async def test_user_changes_since_the_cursor(s: Setup) -> None:
    cursor, d = await synced(s)
    active = [u for u in d["users"] if not u["suspended"] and not u["is_admin"]]
    renamed, suspended, deleted = active[0], active[1], active[2]
    await s.sim_send("PATCH", f"/_sim/users/{renamed['id']}", {"given_name": "Zed"})
    await s.sim_send("PATCH", f"/_sim/users/{suspended['id']}", {"suspended": True})
    await s.sim_send("DELETE", f"/_sim/users/{deleted['id']}")
    created = await s.sim_send(
        "POST", "/_sim/users",
        {"primary_email": "new.person@example.com", "given_name": "New", "family_name": "Person"},
    )  # fmt: skip
    s.clock.advance(1)
    changes = await s.connector.changes(cursor)
    upserts = {c.user.subject: c.user for c in changes.changes if isinstance(c, UserUpserted)}
    assert upserts[renamed["id"]].given_name == "Zed"
    assert upserts[renamed["id"]].display_name == f"Zed {renamed['family_name']}".strip()
    assert upserts[suspended["id"]].active is False
    assert upserts[created["id"]].login == "new.person@example.com"
    assert UserDeleted(deleted["id"]) in changes.changes
    assert deleted["id"] not in upserts
    # replaying from the returned cursor (overlap window included) applies nothing twice
    assert (await s.connector.changes(changes.cursor)).changes == ()


async def test_group_and_membership_changes_since_the_cursor(s: Setup) -> None:
    cursor, d = await synced(s)
    gid, members = next((g, m) for g, m in d["memberships"].items() if len(m) > 2)
    outsider = next(u["id"] for u in d["users"] if u["id"] not in members)
    gone = next(g["id"] for g in d["groups"] if g["id"] != gid)
    await s.sim_send("DELETE", f"/_sim/groups/{gid}/members/{members[0]}")
    await s.sim_send("PUT", f"/_sim/groups/{gid}/members/{outsider}")
    await s.sim_send("PATCH", f"/_sim/groups/{gid}", {"name": "Renamed Group"})
    await s.sim_send("DELETE", f"/_sim/groups/{gone}")
    made = await s.sim_send("POST", "/_sim/groups", {"email": "brand-new@example.com",
                                                    "name": "Brand New"})  # fmt: skip
    await s.sim_send("PUT", f"/_sim/groups/{made['id']}/members/{outsider}")
    s.clock.advance(1)
    changes = await s.connector.changes(cursor)
    got = list(changes.changes)
    assert got.index(MemberRemoved(gid, members[0])) < got.index(MemberAdded(gid, outsider))
    renamed = [c.group for c in got if isinstance(c, GroupUpserted) and c.group.id == gid]
    assert renamed[-1].name == "Renamed Group"
    assert GroupDeleted(gone) in got
    created = [c for c in got if isinstance(c, GroupUpserted) and c.group.id == made["id"]]
    assert created
    assert got.index(created[0]) < got.index(MemberAdded(made["id"], outsider))
    assert (await s.connector.changes(changes.cursor)).changes == ()


async def test_events_listed_late_by_the_reports_api_are_still_applied_once(s: Setup) -> None:
    cursor, d = await synced(s)
    user = next(u for u in d["users"] if not u["is_admin"])
    await s.sim_send("PUT", "/_sim/settings", {"report_lag_seconds": 120})
    await s.sim_send("PATCH", f"/_sim/users/{user['id']}", {"family_name": "Late"})
    s.clock.advance(1)
    first = await s.connector.changes(cursor)
    assert first.changes == ()  # not in the audit log yet
    s.clock.advance(300)  # now it is, dated before the cursor's watermark moved on
    second = await s.connector.changes(first.cursor)
    assert [c.user.family_name for c in second.changes if isinstance(c, UserUpserted)] == ["Late"]
    assert (await s.connector.changes(second.cursor)).changes == ()


async def test_a_pushed_user_is_read_before_the_audit_log_shows_it(s: Setup) -> None:
    cursor, d = await synced(s)
    user = next(u for u in d["users"] if not u["is_admin"])
    await s.sim_send("PUT", "/_sim/settings", {"report_lag_seconds": 3600})
    await s.sim_send("PATCH", f"/_sim/users/{user['id']}", {"family_name": "Pushed"})
    s.connector.note_user_change(user["id"], "update")
    changes = await s.connector.changes(cursor)
    assert kinds(changes) == ["UserUpserted"]
    assert changes.changes[0].user.family_name == "Pushed"  # type: ignore[union-attr]


async def test_a_user_deleted_before_the_connector_saw_it_is_found_among_deleted_users(
    s: Setup, tmp_path: Path
) -> None:
    cursor, d = await synced(s)
    user = next(u for u in d["users"] if not u["is_admin"])
    await s.sim_send("DELETE", f"/_sim/users/{user['id']}")
    fresh = connector_on(
        s.sim, google_directory(tmp_path / "sa.json"), asgi(s.sim), s.clock, s.sleep
    )  # a restarted fetcher: nothing learnt from a snapshot
    changes = await fresh.changes(cursor)
    assert changes.changes == (UserDeleted(user["id"]),)


async def test_a_cursor_older_than_the_audit_log_retention_expires(s: Setup) -> None:
    cursor, _ = await synced(s)
    s.clock.advance(181 * 86400)
    with pytest.raises(CursorExpired):
        await s.connector.changes(cursor)


async def test_a_cursor_of_another_kind_expires(s: Setup) -> None:
    with pytest.raises(CursorExpired):
        await s.connector.changes("https://graph.microsoft.com/v1.0/users/delta?$deltatoken=x")


async def test_a_failed_delta_keeps_the_pushed_users_for_the_next_try(s: Setup) -> None:
    cursor, d = await synced(s)
    user = next(u for u in d["users"] if not u["is_admin"])
    s.connector.note_user_change(user["id"], "update")
    await s.sim_send("PUT", "/_sim/throttle", {"count": 100})
    with pytest.raises(Exception, match="userRateLimitExceeded"):
        await s.connector.changes(cursor)
    await s.sim_send("PUT", "/_sim/throttle", {"count": 0})
    changes = await s.connector.changes(cursor)
    assert [c.user.subject for c in changes.changes if isinstance(c, UserUpserted)] == [user["id"]]


async def test_a_domain_directory_ignores_changes_in_other_domains(
    s: Setup, tmp_path: Path
) -> None:
    scoped = connector_on(
        s.sim, google_directory(tmp_path / "sa.json", domain="example.com"), asgi(s.sim),
        s.clock, s.sleep,
    )  # fmt: skip
    cursor = await scoped.start_cursor()
    snap = await collect(scoped)
    assert all(u.email and u.email.endswith("@example.com") for u in snap.users)
    d = await s.sim_get("/_sim/directory")
    inside = next(u for u in d["users"] if u["primary_email"].endswith("@example.com")
                  and not u["is_admin"])  # fmt: skip
    outside = next(u for u in d["users"] if u["primary_email"].endswith("@corp.example.org"))
    s.clock.advance(5)
    await s.sim_send("PATCH", f"/_sim/users/{inside['id']}", {"given_name": "In"})
    await s.sim_send("PATCH", f"/_sim/users/{outside['id']}", {"given_name": "Out"})
    changes = await scoped.changes(cursor)
    assert [c.user.subject for c in changes.changes if isinstance(c, UserUpserted)] == [
        inside["id"]
    ]
