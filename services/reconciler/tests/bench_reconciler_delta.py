"""Cost of a delta run at scale: 100,000 users, 5,000 groups, 500,000 memberships.

Stores a full snapshot (made the directory state), times the delta intake of 10 events (copy
of the state, load, fold, diff, scope), the planning (empty Confluence answer) and `promote`.
Prints one JSON line. Run from services/reconciler/tests with REDIS_URL set (own key prefix,
deleted after): `uv run --frozen python bench_reconciler_delta.py`.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reconciler_flow import Reconciler  # noqa: E402

from roster.shared import topics  # noqa: E402
from roster.shared.config import RedisSettings, RosterConfig  # noqa: E402
from roster.shared.messages.directory import (  # noqa: E402
    GroupObserved,
    IdpGroup,
    IdpUser,
    MembershipAdded,
    SnapshotCompleted,
    SnapshotStarted,
    UserChanged,
    UserObserved,
)
from roster.shared.messages.state import ConfluenceStateCompleted  # noqa: E402
from roster.shared.redisdb import Keys, connect  # noqa: E402

USERS, GROUPS, MEMBERSHIPS = 100_000, 5_000, 500_000


async def main() -> None:
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    client = connect(RedisSettings(url=os.environ.get("REDIS_URL", "redis://127.0.0.1:36379/0"),
                                   key_prefix=prefix))  # fmt: skip
    rec = Reconciler(client, Keys(prefix), RosterConfig(directories=[{"id": "kc", "kind": "ldap"}]))
    rng = random.Random(1)
    users = [
        IdpUser(subject=f"s{i}", login=f"user{i}", email=f"user{i}@x.io") for i in range(USERS)
    ]
    members: dict[int, set[str]] = {}
    for _ in range(MEMBERSHIPS):
        members.setdefault(rng.randrange(GROUPS), set()).add(f"s{rng.randrange(USERS)}")
    try:
        await rec.intake.started(SnapshotStarted(run_id="full", directory="kc"))
        batch: list = [UserObserved(run_id="full", directory="kc", user=u) for u in users]
        batch += [
            GroupObserved(
                run_id="full",
                directory="kc",
                group=IdpGroup(id=f"g{g}", name=f"g{g}"),
                members=sorted(m),
            )  # fmt: skip
            for g, m in members.items()
        ]
        for i in range(0, len(batch), 5000):
            await rec.intake.observed(batch[i : i + 5000])
        total = sum(len(m) for m in members.values())
        done = SnapshotCompleted(run_id="full", directory="kc", users=USERS, groups=len(members),
                                 memberships=total)  # fmt: skip
        await rec.intake.completed(done)
        await rec.marks.mark_planned("full", "planned")
        assert await rec.intake.states.promote("full", "kc")
        events = [UserChanged(run_id="d", directory="kc", user=users[i].model_copy(
            update={"display_name": "Changed"})) for i in range(5)]  # fmt: skip
        events += [MembershipAdded(run_id="d", directory="kc", group_id="g1", subject=f"s{i}")
                   for i in range(5)]  # fmt: skip
        await rec.intake.started(SnapshotStarted(run_id="d", directory="kc", mode="delta"))
        await rec.intake.observed(events)
        began = time.perf_counter()
        await rec.intake.completed(
            SnapshotCompleted(run_id="d", directory="kc", users=5, groups=0, memberships=5)
        )
        seconds = time.perf_counter() - began
        began = time.perf_counter()  # Confluence answers empty: every user would be created
        await rec.planner.completed(
            ConfluenceStateCompleted(run_id="d", pages=0, users=0, groups=0)
        )
        planning = time.perf_counter() - began
        commands = len(rec.publisher.of(topics.CONFLUENCE_COMMANDS, "d")) - 1
        began = time.perf_counter()
        await rec.intake.states.promote("d", "kc")
        promote = time.perf_counter() - began
        print(json.dumps({"users": USERS, "groups": len(members), "memberships": total,
                          "delta_events": len(events), "delta_intake_seconds": round(seconds, 2),
                          "delta_planning_seconds": round(planning, 2),
                          "delta_commands": commands,
                          "promote_seconds": round(promote, 2)}))  # fmt: skip
    finally:
        async for key in client.scan_iter(match=f"{prefix}*", count=5000):
            await client.delete(key)
        await client.aclose()


if __name__ == "__main__":
    asyncio.run(main())
