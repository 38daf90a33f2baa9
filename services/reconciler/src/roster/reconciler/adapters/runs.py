"""Per-run markers in Redis: "this run was planned" and the stored plan of a run.

`rec:planned:{run}` (the outcome: planned, dry-run, held, rejected or failed) makes a run
plan at most once; `rec:plan:{run}` holds the plan of a dry or held run as JSON, for
display and for executing it on approval (`document_commands`, `document_links`). Both
expire like the run's snapshots.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import redis.asyncio as redis
from pydantic import TypeAdapter

from roster.reconciler.core.plan import Plan
from roster.reconciler.core.state import NewLink
from roster.shared.messages.commands import WriteCommand
from roster.shared.messages.runs import PlanSummary
from roster.shared.redisdb import Keys

DAY_SECONDS = 86_400
_COMMANDS = TypeAdapter(list[WriteCommand])


def _changes(plan: Plan) -> list[dict[str, Any]]:
    """Per user: the outcome, why, and each command it would get (with its rule)."""
    by_user: dict[str, list[dict[str, str]]] = {}
    for command in plan.commands:
        username = getattr(command, "username", None)
        if username is not None:
            change = {"type": command.type, "reason": command.reason}
            if (group := getattr(command, "group", None)) is not None:
                change["group"] = group
            by_user.setdefault(username, []).append(change)
    return [
        {
            "username": e.username,
            "subject": e.subject,
            "outcome": e.outcome,
            "reasons": list(e.reasons),
            "changes": by_user.get(e.username or "", []),
        }
        for e in plan.explanations
        if e.outcome != "unchanged"
    ]


def plan_document(
    plan: Plan, *, status: str = "dry-run", mode: str = "full", hold_reason: str | None = None
) -> dict[str, Any]:
    """A plan as plain JSON data: status (dry-run or held) and why it is held, summary,
    per-user changes, commands, explanations, links and notes."""
    return {
        "run_id": plan.run_id,
        "directory": plan.directory,
        "status": status,
        "mode": mode,
        "hold_reason": hold_reason,
        "summary": plan.summary.model_dump(mode="json"),
        "users": _changes(plan),
        "commands": _COMMANDS.dump_python(list(plan.commands), mode="json"),
        "explanations": [dataclasses.asdict(e) for e in plan.explanations],
        "links": [dataclasses.asdict(link) for link in plan.links],
        "notes": list(plan.notes),
    }


def document_commands(document: dict[str, Any]) -> list[WriteCommand]:
    return _COMMANDS.validate_python(document.get("commands", []))


def document_links(document: dict[str, Any]) -> list[NewLink]:
    return [NewLink(subject=x["subject"], username=x["username"]) for x in document["links"]]


def document_summary(document: dict[str, Any]) -> PlanSummary:
    return PlanSummary.model_validate(document.get("summary") or {})


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

    async def store_plan(
        self,
        plan: Plan,
        *,
        status: str = "dry-run",
        mode: str = "full",
        hold_reason: str | None = None,
        **extra: Any,
    ) -> None:
        document = plan_document(plan, status=status, mode=mode, hold_reason=hold_reason)
        await self._save(plan.run_id, document | extra)

    async def _save(self, run_id: str, document: dict[str, Any]) -> None:
        payload = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
        await self.redis.set(self.keys("rec", "plan", run_id), payload, ex=self.ttl)

    async def decide_plan(self, run_id: str, status: str, by: str) -> None:
        """Record on the stored plan that it was approved or rejected, and by whom."""
        document = await self.load_plan(run_id)
        if document is not None:
            await self._save(run_id, document | {"status": status, "decided_by": by})

    async def load_plan(self, run_id: str) -> dict[str, Any] | None:
        raw = await self.redis.get(self.keys("rec", "plan", run_id))
        if raw is None:
            return None
        document: dict[str, Any] = json.loads(raw)
        return document
