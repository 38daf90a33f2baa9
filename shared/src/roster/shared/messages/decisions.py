"""`roster.run-decisions`: an administrator's answer to a held run (key run id).

The scheduler's API publishes them; the reconciler executes an approved plan once and
closes a rejected run. `by` names who decided (the API caller), for the audit trail.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from roster.shared.messages.base import Message


class RunDecision(Message):
    directory: str
    by: str = "admin"


class RunApproved(RunDecision):
    type: Literal["RunApproved"] = "RunApproved"


class RunRejected(RunDecision):
    type: Literal["RunRejected"] = "RunRejected"
    comment: str = ""


AnyRunDecision = Annotated[RunApproved | RunRejected, Field(discriminator="type")]
decision_adapter: TypeAdapter[AnyRunDecision] = TypeAdapter(AnyRunDecision)
