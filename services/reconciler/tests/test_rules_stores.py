"""Claims and deactivation times in a real Redis (`adapters/claims.py`, `rule_inputs.py`)."""

from __future__ import annotations

from datetime import timedelta

import redis.asyncio as redis
from reconciler_support import ISSUED

from roster.reconciler.adapters.claims import ClaimStore, DeactivationStore
from roster.reconciler.adapters.links import LinkStore
from roster.reconciler.adapters.rule_inputs import RuleInputs
from roster.reconciler.core.grace import Marks
from roster.reconciler.core.rules import Claim
from roster.shared.config import ConfluenceSettings, DirectorySettings
from roster.shared.redisdb import Keys

ADA = Claim("s-1", "Ada Lovelace", "ada@example.com", active=True)
BOB = Claim("s-2", "Bob", "bob@example.com", active=False)


async def test_claims_are_replaced_whole_and_read_back(
    redis_client: redis.Redis, keys: Keys
) -> None:
    store = ClaimStore(redis_client, keys)
    await store.replace("corp", {"ada": ADA, "bob": BOB})
    assert await store.load("corp") == {"ada": ADA, "bob": BOB}
    await store.replace("corp", {"ada": ADA})
    assert await store.load("corp") == {"ada": ADA}
    await store.replace("corp", {})
    assert await store.load("corp") == {}
    assert await redis_client.exists(keys("rec", "claims", "corp")) == 0
    many = {f"u{i}": ADA for i in range(2500)}  # more than one chunk
    await store.replace("corp", many)
    assert len(await store.load("corp")) == 2500


async def test_deactivation_marks_set_keep_and_clear(redis_client: redis.Redis, keys: Keys) -> None:
    store = DeactivationStore(redis_client, keys)
    earlier = ISSUED - timedelta(days=3)
    await store.record("kc", Marks(deprovisioned=frozenset({"a"}),
                                   deprovisioned_if_missing=frozenset({"b"}),
                                   cleaned=frozenset({"c"})), earlier)  # fmt: skip
    await store.record("kc", Marks(deprovisioned_if_missing=frozenset({"a", "b"})), ISSUED)
    assert await store.deprovisioned("kc") == {"a": earlier, "b": earlier}
    assert await store.cleaned_up("kc") == {"c": earlier}
    await store.record("kc", Marks(deprovisioned=frozenset({"a"}), clear=frozenset({"b", "c"})),
                       ISSUED)  # fmt: skip
    assert await store.deprovisioned("kc") == {"a": ISSUED}
    assert await store.cleaned_up("kc") == {}


async def test_rule_inputs_read_only_sharing_directories(
    redis_client: redis.Redis, keys: Keys
) -> None:
    claims = ClaimStore(redis_client, keys)
    await claims.replace("corp", {"ada": ADA})
    await claims.replace("partner", {"jdoe": Claim("p-1", "J", "j@x.io", active=True)})
    await claims.replace("other", {"ada": BOB})
    confluence = ConfluenceSettings(directory_precedence=["corp", "partner"])
    inputs = await RuleInputs.load(LinkStore(redis_client, keys), confluence, "partner")
    assert inputs.co_links == {"p-1": "jdoe"}
    assert set(inputs.claims) == {"corp"}
    rules = inputs.rules(DirectorySettings(id="partner", kind="ldap"))
    assert rules.shared("partner", "corp")
    assert not rules.shared("partner", "other")
    alone = await RuleInputs.load(LinkStore(redis_client, keys), ConfluenceSettings(), "partner")
    assert alone.co_links == {}
    assert alone.claims == {}
