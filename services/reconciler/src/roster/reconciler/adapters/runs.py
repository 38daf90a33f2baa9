"""Per-run markers in Redis: "this run was planned" and the stored plan of a dry run.

`rec:planned:{run}` (the outcome: planned, dry-run or failed) makes a run plan at most once;
`rec:plan:{run}` holds a plan as JSON for display. Both expire like the run's snapshots.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import redis.asyncio as redis
from pydantic import TypeAdapter

from roster.reconciler.core.plan import Plan
from roster.shared.messages.commands import WriteCommand
from roster.shared.redisdb import Keys

DAY_SECONDS = 86_400
_COMMANDS = TypeAdapter(list[WriteCommand])


def plan_document(plan: Plan) -> dict[str, Any]:
    """A plan as plain JSON data: summary, commands, explanations, links and notes."""
    return {
        "run_id": plan.run_id,
        "directory": plan.directory,
        "summary": plan.summary.model_dump(mode="json"),
        "commands": _COMMANDS.dump_python(list(plan.commands), mode="json"),
        "explanations": [dataclasses.asdict(e) for e in plan.explanations],
        "links": [dataclasses.asdict(link) for link in plan.links],
        "notes": list(plan.notes),
    }


class RunMarks:
    def __init__(self, client: redis.Redis, keys: Keys, *, ttl_seconds: int = DAY_SECONDS) -> None:
        self.redis = client
        self.keys = keys
        self.ttl = ttl_seconds

    async def planned(self, run_id: str) -> str | None:
        """The run's planning outcome, or None when it was not planned yet."""
        value = await self.redis.get(self.keys("rec", "planned", run_id))
        return None if value is None else str(value)

    async def mark_planned(self, run_id: str, outcome: str) -> None:
        await self.redis.set(self.keys("rec", "planned", run_id), outcome, ex=self.ttl)

    async def store_plan(self, plan: Plan) -> None:
        payload = json.dumps(plan_document(plan), ensure_ascii=False, separators=(",", ":"))
        await self.redis.set(self.keys("rec", "plan", plan.run_id), payload, ex=self.ttl)

    async def load_plan(self, run_id: str) -> dict[str, Any] | None:
        raw = await self.redis.get(self.keys("rec", "plan", run_id))
        if raw is None:
            return None
        document: dict[str, Any] = json.loads(raw)
        return document
