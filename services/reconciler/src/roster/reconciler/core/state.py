"""The two inputs of planning besides the policy: the IdP snapshot and the actual state.

`ActualState` is Confluence as the writer read it plus the link table's owners; names are
lower-cased here once, because Confluence compares user and group names case-insensitively.
Values only: the adapters fill them, the planner reads them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from roster.shared.messages.directory import IdpGroup, IdpUser
from roster.shared.messages.state import ConfluenceUser


@dataclass(frozen=True, slots=True)
class Owner:
    """Who a Confluence username is linked to: one IdP subject of one directory."""

    directory: str
    subject: str

    def encode(self) -> str:
        return f"{self.directory}/{self.subject}"

    @classmethod
    def decode(cls, value: str) -> Owner:
        # directory ids never contain "/" (config pattern), subjects may
        directory, _, subject = value.partition("/")
        return cls(directory, subject)


@dataclass(frozen=True, slots=True)
class NewLink:
    """A link the plan wants recorded: an adopted or newly created account."""

    subject: str
    username: str


@dataclass(frozen=True)
class IdpSnapshot:
    """One full snapshot of a directory as the fetcher published it."""

    users: tuple[IdpUser, ...] = ()
    groups: tuple[IdpGroup, ...] = ()
    members: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """IdP group id → subjects of its direct members."""


def _frozen(mapping: Mapping[str, frozenset[str]]) -> Mapping[str, frozenset[str]]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class ActualState:
    """Confluence as read for one run, plus the link table; build it with `ActualState.of`."""

    users: Mapping[str, ConfluenceUser] = field(default_factory=dict)
    """Lower-case username → user."""
    groups: frozenset[str] = frozenset()
    """Lower-case names of the groups that exist."""
    members: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Lower-case group name → lower-case usernames, for the groups that were read."""
    owners: Mapping[str, Owner] = field(default_factory=dict)
    """Lower-case username → the subject it is linked to (any directory)."""

    @classmethod
    def of(
        cls,
        *,
        users: Iterable[ConfluenceUser] = (),
        groups: Iterable[str] = (),
        members: Mapping[str, Iterable[str]] | None = None,
        owners: Mapping[str, Owner] | None = None,
    ) -> ActualState:
        merged: dict[str, set[str]] = {}
        for group, names in (members or {}).items():
            merged.setdefault(group.lower(), set()).update(n.lower() for n in names)
        return cls(
            users=MappingProxyType(
                {
                    u.username.lower(): u.model_copy(update={"username": u.username.lower()})
                    for u in users
                }
            ),
            groups=frozenset(g.lower() for g in groups),
            members=_frozen({g: frozenset(m) for g, m in merged.items()}),
            owners=MappingProxyType({k.lower(): v for k, v in (owners or {}).items()}),
        )

    def members_of(self, group: str) -> frozenset[str]:
        return self.members.get(group, frozenset())

    def linked(self, directory: str) -> dict[str, str]:
        """Usernames linked to `directory` → their subjects."""
        return {u: o.subject for u, o in self.owners.items() if o.directory == directory}
