"""Loads the rule inputs of a plan from Redis and records what the plan leaves behind.

Reads this directory's own claims (co-links that keep a shared account across renames),
the sharing directories' claims and the deactivation times; after a planned full sync
(not a dry run) it replaces the directory's claims and records the marks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from roster.reconciler.adapters.claims import ClaimStore, DeactivationStore
from roster.reconciler.adapters.links import LinkStore
from roster.reconciler.core.claims import co_links
from roster.reconciler.core.planned import Planned
from roster.reconciler.core.rules import Claims, PlanRules, plan_rules
from roster.shared.config import ConfluenceSettings, DirectorySettings


@dataclass
class RuleInputs:
    directory: str
    confluence: ConfluenceSettings
    claim_store: ClaimStore
    deactivations: DeactivationStore
    co_links: dict[str, str] = field(default_factory=dict)
    claims: dict[str, Claims] = field(default_factory=dict)
    deprovisioned_at: dict[str, datetime] = field(default_factory=dict)
    cleaned_up: dict[str, datetime] = field(default_factory=dict)

    @property
    def shared(self) -> bool:
        return self.directory in self.confluence.directory_precedence

    @classmethod
    async def load(
        cls, links: LinkStore, confluence: ConfluenceSettings, directory: str
    ) -> RuleInputs:
        inputs = cls(
            directory=directory,
            confluence=confluence,
            claim_store=ClaimStore(links.redis, links.keys),
            deactivations=DeactivationStore(links.redis, links.keys),
        )
        if inputs.shared:
            inputs.co_links = co_links(await inputs.claim_store.load(directory))
            others = [d for d in confluence.directory_precedence if d != directory]
            inputs.claims = await inputs.claim_store.load_many(others)
        inputs.deprovisioned_at = await inputs.deactivations.deprovisioned(directory)
        inputs.cleaned_up = await inputs.deactivations.cleaned_up(directory)
        return inputs

    def rules(self, settings: DirectorySettings) -> PlanRules:
        return plan_rules(
            settings,
            self.confluence,
            claims=self.claims,
            deprovisioned_at=self.deprovisioned_at,
            cleaned_up=self.cleaned_up,
        )

    async def record(self, planned: Planned, now: datetime) -> None:
        if self.shared and planned.claims is not None:
            await self.claim_store.replace(self.directory, planned.claims)
        await self.deactivations.record(self.directory, planned.marks, now)
