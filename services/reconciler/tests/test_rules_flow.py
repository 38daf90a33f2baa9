"""The planner's rule state on a real Redis: grace times across runs, claims of full syncs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import redis.asyncio as redis
from reconciler_flow import Reconciler, answer, execute, snapshot_events
from reconciler_support import ISSUED, cf, idp

from roster.reconciler.adapters.claims import ClaimStore, DeactivationStore
from roster.reconciler.core.state import ActualState, NewLink
from roster.shared import topics
from roster.shared.config import RosterConfig
from roster.shared.messages.directory import IdpUser
from roster.shared.redisdb import Keys


def _config(**directory: object) -> RosterConfig:
    return RosterConfig(
        directories=[{"id": "kc", "kind": "ldap", **directory}, {"id": "other", "kind": "ldap"}],
        confluence={"directory_precedence": ["kc", "other"]},
    )


async def _sync(rec: Reconciler, run_id: str, users: Sequence[IdpUser], state: ActualState,
                *, dry_run: bool = False) -> tuple[list[str], ActualState]:  # fmt: skip
    await rec.directory_events(snapshot_events(run_id, users, {}, dry_run=dry_run))
    (request,) = rec.publisher.of(topics.CONFLUENCE_COMMANDS, run_id)
    await rec.state(answer(request, state))
    commands = rec.publisher.of(topics.CONFLUENCE_COMMANDS, run_id)[1:]
    return [f"{c.type} {c.key}" for c in commands], execute(commands, state)


async def test_grace_period_deletes_only_after_n_days(
    redis_client: redis.Redis, keys: Keys
) -> None:
    rec = Reconciler(redis_client, keys, _config(delete_after_days=30))
    await rec.links.record("kc", [NewLink("s-ada", "ada"), NewLink("s-old", "old")])
    state = ActualState.of(users=[cf("ada"), cf("old")])
    done, state = await _sync(rec, "r1", [idp("ada")], state)
    assert done == ["DeactivateUser old"]
    assert await DeactivationStore(redis_client, keys).deprovisioned("kc") == {"old": ISSUED}

    rec.planner.clock = lambda: ISSUED + timedelta(days=29)
    done, state = await _sync(rec, "r2", [idp("ada")], state)
    assert done == []

    rec.planner.clock = lambda: ISSUED + timedelta(days=30)
    done, state = await _sync(rec, "r3", [idp("ada")], state)
    assert done == ["DeleteUser old"]
    assert await DeactivationStore(redis_client, keys).deprovisioned("kc") == {}


async def test_claims_are_stored_by_full_syncs_not_by_dry_runs(
    redis_client: redis.Redis, keys: Keys
) -> None:
    rec = Reconciler(redis_client, keys, _config())
    claims = ClaimStore(redis_client, keys)
    state = ActualState.of(users=[cf("admin")])
    await _sync(rec, "r1", [idp("ada"), idp("bob", active=False)], state, dry_run=True)
    assert await claims.load("kc") == {}
    await _sync(rec, "r2", [idp("ada"), idp("bob", active=False)], state)
    stored = await claims.load("kc")
    assert {u: c.active for u, c in stored.items()} == {"ada": True, "bob": False}
    assert stored["ada"].subject == "s-ada"
