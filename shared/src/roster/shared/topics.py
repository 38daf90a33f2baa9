"""Topic names (DESIGN.md §2) and the prefix that lets several stacks share one broker."""

from __future__ import annotations

from dataclasses import dataclass

SYNC_REQUESTS = "roster.sync-requests"
DIRECTORY_EVENTS = "roster.directory-events"
CONFLUENCE_COMMANDS = "roster.confluence-commands"
CONFLUENCE_RESULTS = "roster.confluence-results"
CONFLUENCE_STATE = "roster.confluence-state"
RUN_EVENTS = "roster.run-events"
RUN_DECISIONS = "roster.run-decisions"
DEAD_LETTER = "roster.dead-letter"

ALL = (
    SYNC_REQUESTS,
    DIRECTORY_EVENTS,
    CONFLUENCE_COMMANDS,
    CONFLUENCE_RESULTS,
    CONFLUENCE_STATE,
    RUN_EVENTS,
    RUN_DECISIONS,
    DEAD_LETTER,
)


@dataclass(frozen=True)
class Topics:
    """The topic names of one deployment; `prefix` isolates test stacks on a shared broker."""

    prefix: str = ""

    def name(self, base: str) -> str:
        return f"{self.prefix}{base}"

    @property
    def sync_requests(self) -> str:
        return self.name(SYNC_REQUESTS)

    @property
    def directory_events(self) -> str:
        return self.name(DIRECTORY_EVENTS)

    @property
    def confluence_commands(self) -> str:
        return self.name(CONFLUENCE_COMMANDS)

    @property
    def confluence_results(self) -> str:
        return self.name(CONFLUENCE_RESULTS)

    @property
    def confluence_state(self) -> str:
        return self.name(CONFLUENCE_STATE)

    @property
    def run_events(self) -> str:
        return self.name(RUN_EVENTS)

    @property
    def run_decisions(self) -> str:
        return self.name(RUN_DECISIONS)

    @property
    def dead_letter(self) -> str:
        return self.name(DEAD_LETTER)

    def all(self) -> list[str]:
        return [self.name(t) for t in ALL]
