"""The snapshot store on a real Redis: round trips, resets, TTLs, and 100,000 users fast."""

from __future__ import annotations

import time

import redis.asyncio as redis
from reconciler_support import cf, idp

from roster.reconciler.adapters.snapshots import RunMeta, SnapshotCounts, SnapshotStore
from roster.reconciler.core.state import Owner
from roster.shared.messages.directory import (
    GroupObserved,
    IdpGroup,
    SnapshotCompleted,
    SnapshotStarted,
    UserObserved,
)
from roster.shared.messages.state import ConfluenceStatePage
from roster.shared.redisdb import Keys

RUN = "r1"


def started(**fields: object) -> SnapshotStarted:
    return SnapshotStarted(run_id=RUN, directory="kc", **fields)  # type: ignore[arg-type]


def user_event(login: str, run: str = RUN) -> UserObserved:
    return UserObserved(run_id=run, directory="kc", user=idp(login))


def chunk(group: str, members: list[str], n: int = 0, run: str = RUN) -> GroupObserved:
    return GroupObserved(
        run_id=run,
        directory="kc",
        group=IdpGroup(id=f"g-{group}", name=group),
        members=members,
        chunk=n,
    )


def completed(users: int, groups: int, memberships: int) -> SnapshotCompleted:
    return SnapshotCompleted(
        run_id=RUN, directory="kc", users=users, groups=groups, memberships=memberships
    )


async def test_idp_snapshot_round_trip_with_chunks_and_two_runs(
    redis_client: redis.Redis, keys: Keys
) -> None:
    store = SnapshotStore(redis_client, keys)
    await store.start(started(dry_run=True, trigger="cron"))
    await store.observe(
        [
            user_event("ada"),
            user_event("bob"),
            user_event("zed", run="other"),
            chunk("Eng", ["s-ada"]),
            chunk("Eng", ["s-bob", "s-ada"], n=1),
            chunk("Empty", []),
        ]
    )
    await store.observe([user_event("ada")])  # a replayed record changes nothing
    counts = await store.complete(completed(2, 2, 2))
    assert counts == SnapshotCounts(users=2, groups=2, memberships=2)
    assert await store.meta(RUN) == RunMeta(RUN, "kc", "full", True, "cron", "completed")
    snapshot = await store.load_idp(RUN)
    assert sorted(u.subject for u in snapshot.users) == ["s-ada", "s-bob"]
    assert snapshot.users[0] in (idp("ada"), idp("bob"))
    assert sorted(g.name for g in snapshot.groups) == ["Empty", "Eng"]
    assert snapshot.members == {"g-Eng": {"s-ada", "s-bob"}, "g-Empty": frozenset()}
    assert [u.login for u in (await store.load_idp("other")).users] == ["zed"]
    assert await store.meta("never") is None


async def test_every_key_expires_after_a_day(
    redis_client: redis.Redis, keys: Keys, prefix: str
) -> None:
    store = SnapshotStore(redis_client, keys)
    await store.start(started())
    await store.observe([user_event("ada"), chunk("Eng", ["s-ada"])])
    page = ConfluenceStatePage(
        run_id=RUN, page=0, users=[cf("ada")], groups=["eng"], members={"eng": ["ada"]}
    )
    await store.add_page(page)
    stored = [k async for k in redis_client.scan_iter(match=f"{prefix}*")]
    assert sorted(k.removeprefix(prefix) for k in stored) == [
        "rec:cf:r1:groups",
        "rec:cf:r1:members:eng",
        "rec:cf:r1:meta",
        "rec:cf:r1:users",
        "rec:snap:r1:groups",
        "rec:snap:r1:members:g-Eng",
        "rec:snap:r1:meta",
        "rec:snap:r1:users",
    ]
    for key in stored:
        assert 86_000 < await redis_client.ttl(key) <= 86_400, key


async def test_a_restarted_snapshot_forgets_the_first_attempt(
    redis_client: redis.Redis, keys: Keys
) -> None:
    store = SnapshotStore(redis_client, keys)
    await store.start(started())
    await store.observe([user_event("ada"), chunk("Eng", ["s-ada"])])
    await store.start(started(trigger="retry"))
    await store.observe([user_event("bob")])
    assert await store.stored_counts(RUN) == SnapshotCounts(users=1, groups=0, memberships=0)
    assert [u.login for u in (await store.load_idp(RUN)).users] == ["bob"]
    meta = await store.meta(RUN)
    assert meta is not None
    assert (meta.trigger, meta.status) == ("retry", "started")


async def test_a_failed_snapshot_keeps_only_its_status(
    redis_client: redis.Redis, keys: Keys, prefix: str
) -> None:
    store = SnapshotStore(redis_client, keys)
    await store.start(started())
    await store.observe([user_event("ada"), chunk("Eng", ["s-ada"])])
    await store.fail(RUN)
    meta = await store.meta(RUN)
    assert meta is not None
    assert meta.status == "failed"
    assert [k async for k in redis_client.scan_iter(match=f"{prefix}*")] == [
        f"{prefix}rec:snap:r1:meta"
    ]


async def test_confluence_pages_merge_lower_cased(redis_client: redis.Redis, keys: Keys) -> None:
    store = SnapshotStore(redis_client, keys)
    pages = [
        ConfluenceStatePage(
            run_id=RUN,
            page=0,
            users=[cf("Ada"), cf("bob", active=False)],
            groups=["Eng", "confluence-users"],
            members={"Eng": ["Ada"]},
        ),
        ConfluenceStatePage(run_id=RUN, page=1, members={"eng": ["bob"], "ops": []}),
    ]
    for page in [*pages, pages[0]]:  # a page read twice is stored once
        await store.add_page(page)
    assert await store.pages(RUN) == 2
    owners = {"ada": Owner("kc", "s-ada")}
    actual = await store.load_confluence(RUN, owners)
    assert sorted(actual.users) == ["ada", "bob"]
    assert actual.users["ada"].username == "ada"
    assert actual.users["bob"].active is False
    assert actual.groups == {"eng", "confluence-users"}
    assert actual.members == {"eng": {"ada", "bob"}, "ops": frozenset()}
    assert actual.owners == owners
    assert await store.pages("nothing") == 0


async def test_storing_and_loading_100k_users_is_fast(
    redis_client: redis.Redis, keys: Keys
) -> None:
    store = SnapshotStore(redis_client, keys)
    await store.start(started())
    users = [user_event(f"user{i:06d}") for i in range(100_000)]
    groups = [chunk(f"G{g}", [f"s-user{i:06d}" for i in range(g, 100_000, 50)]) for g in range(50)]
    began = time.perf_counter()
    for start in range(0, len(users), 500):  # the consumer's batch size
        await store.observe(users[start : start + 500])
    await store.observe(groups)
    stored = time.perf_counter() - began
    counts = await store.complete(completed(100_000, 50, 100_000))
    snapshot = await store.load_idp(RUN)
    loaded = time.perf_counter() - began - stored
    assert counts == SnapshotCounts(100_000, 50, 100_000)
    assert len(snapshot.users) == 100_000
    assert sum(len(m) for m in snapshot.members.values()) == 100_000
    print(f"stored 100k users in {stored:.2f}s, loaded in {loaded:.2f}s")
    assert stored < 20, f"storing 100k users took {stored:.1f}s"
    assert loaded < 20, f"loading 100k users took {loaded:.1f}s"
