"""The link table and run markers on a real Redis."""

from __future__ import annotations

import redis.asyncio as redis
from reconciler_support import DIRECTORY, RUN, desired_of, idp, make_plan

from roster.reconciler.adapters.links import LinkStore
from roster.reconciler.adapters.runs import RunMarks
from roster.reconciler.core.state import ActualState, NewLink, Owner
from roster.shared.redisdb import Keys


async def test_links_are_recorded_both_ways_and_never_expire(
    redis_client: redis.Redis, keys: Keys, prefix: str
) -> None:
    links = LinkStore(redis_client, keys)
    refused = await links.record("kc", [NewLink("s-1", "ada"), NewLink("s/2", "bob")])
    assert refused == []
    assert await links.record("kc", [NewLink("s-1", "ada")]) == []  # replay: no change
    assert await links.subjects("kc") == {"s-1": "ada", "s/2": "bob"}
    assert await links.owners() == {"ada": Owner("kc", "s-1"), "bob": Owner("kc", "s/2")}
    assert await links.subjects("okta") == {}
    assert await redis_client.ttl(f"{prefix}links:kc") == -1
    assert await redis_client.hgetall(f"{prefix}links:owner") == {"ada": "kc/s-1", "bob": "kc/s/2"}


async def test_a_taken_username_or_a_linked_subject_is_refused(
    redis_client: redis.Redis, keys: Keys
) -> None:
    links = LinkStore(redis_client, keys)
    await links.record("okta", [NewLink("o-1", "ada")])
    await links.record("kc", [NewLink("s-1", "bob")])
    refused = await links.record(
        "kc",
        [
            NewLink("s-2", "ada"),  # linked to another directory
            NewLink("s-3", "bob"),  # linked to another subject of this directory
            NewLink("s-1", "bobby"),  # this subject is linked to "bob" already
            NewLink("s-4", "carl"),
        ],
    )
    assert refused == [NewLink("s-2", "ada"), NewLink("s-3", "bob"), NewLink("s-1", "bobby")]
    assert await links.subjects("kc") == {"s-1": "bob", "s-4": "carl"}
    assert (await links.owners())["ada"] == Owner("okta", "o-1")


async def test_many_links_are_recorded_in_chunks(redis_client: redis.Redis, keys: Keys) -> None:
    links = LinkStore(redis_client, keys)
    wanted = [NewLink(f"s-{i}", f"user{i}") for i in range(1_234)]
    await links.record("kc", wanted[:10])
    await links.record("okta", [NewLink("x", "user1233")])
    refused = await links.record("kc", wanted)
    assert refused == [wanted[-1]]
    assert len(await links.subjects("kc")) == 1_233


async def test_run_marks_and_the_stored_plan(redis_client: redis.Redis, keys: Keys) -> None:
    marks = RunMarks(redis_client, keys)
    assert await marks.planned(RUN) is None
    await marks.mark_planned(RUN, "dry-run")
    assert await marks.planned(RUN) == "dry-run"
    assert 0 < await redis_client.ttl(keys("rec", "planned", RUN)) <= 86_400
    result = make_plan(
        desired_of([idp("ada"), idp("bob", email=None)], {"Eng": ["ada"]}), ActualState()
    )
    await marks.store_plan(result)
    document = await marks.load_plan(RUN)
    assert document is not None
    assert document["summary"]["create_users"] == 1
    assert [c["type"] for c in document["commands"]] == [
        "CreateGroup",
        "CreateUser",
        "AddMembership",
    ]
    assert document["commands"][1]["reason"] == "created: new in IdP"
    assert document["links"] == [{"subject": "s-ada", "username": "ada"}]
    assert {e["outcome"] for e in document["explanations"]} == {"created", "skipped"}
    assert document["directory"] == DIRECTORY
    assert await marks.load_plan("other") is None
