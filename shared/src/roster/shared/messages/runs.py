"""`roster.run-events`: the life of a sync run, for the sink (history, results, approvals)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from roster.shared.messages.base import Message, Model


class PlanSummary(Model):
    """Counts per kind of change: what a plan would do."""

    create_users: int = 0
    update_users: int = 0
    deactivate_users: int = 0
    reactivate_users: int = 0
    delete_users: int = 0
    create_groups: int = 0
    delete_groups: int = 0
    add_memberships: int = 0
    remove_memberships: int = 0
    unchanged_users: int = 0
    conflicts: int = 0

    @property
    def writes(self) -> int:
        return (
            self.create_users
            + self.update_users
            + self.deactivate_users
            + self.reactivate_users
            + self.delete_users
            + self.create_groups
            + self.delete_groups
            + self.add_memberships
            + self.remove_memberships
        )


class RunEvent(Message):
    directory: str


class RunStarted(RunEvent):
    type: Literal["RunStarted"] = "RunStarted"
    mode: str = "full"
    trigger: str = "manual"
    dry_run: bool = False


class RunProgress(RunEvent):
    type: Literal["RunProgress"] = "RunProgress"
    phase: str
    """fetching, reading-confluence, planning."""
    done: int = 0
    total: int | None = None


class RunPlanned(RunEvent):
    type: Literal["RunPlanned"] = "RunPlanned"
    summary: PlanSummary
    commands: int
    """Number of commands emitted; the run completes when that many results arrived."""
    dry_run: bool = False


class RunHeld(RunEvent):
    type: Literal["RunHeld"] = "RunHeld"
    reason: str
    summary: PlanSummary


class RunFailed(RunEvent):
    type: Literal["RunFailed"] = "RunFailed"
    error: str


class RunCompleted(RunEvent):
    type: Literal["RunCompleted"] = "RunCompleted"
    status: str
    """succeeded, failed (some commands failed), held, rejected."""
    summary: PlanSummary


AnyRunEvent = Annotated[
    RunStarted | RunProgress | RunPlanned | RunHeld | RunFailed | RunCompleted,
    Field(discriminator="type"),
]
run_event_adapter: TypeAdapter[AnyRunEvent] = TypeAdapter(AnyRunEvent)
