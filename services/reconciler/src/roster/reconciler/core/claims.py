"""Several directories, one Confluence: claims, precedence and "active anywhere".

After a run each directory's claims (username → wanted attributes and active flag) are
stored; planning another directory reads them. The first directory in
`confluence.directory_precedence` with an active claim decides display name and email,
and a user active in any sharing directory is never deprovisioned by another one.
"""

from __future__ import annotations

from dataclasses import dataclass

from roster.reconciler.core.desired import DesiredState, DesiredUser
from roster.reconciler.core.rules import Claim, Claims, PlanRules


def claims_of(desired: DesiredState) -> dict[str, Claim]:
    return {
        u.username: Claim(u.subject, u.display_name, u.email, u.active)
        for u in desired.users.values()
    }


def co_links(claims: Claims) -> dict[str, str]:
    """Subject → username from a directory's own claims: keeps a shared account across an
    IdP rename in a directory that does not own the link."""
    return {claim.subject: username for username, claim in claims.items()}


@dataclass(frozen=True, slots=True)
class Attributes:
    display_name: str
    email: str
    source: str | None
    """The directory whose values these are, when not the planning one."""


def preferred(user: DesiredUser, directory: str, rules: PlanRules) -> Attributes:
    """Display name and email by precedence among the active claims of sharing directories."""
    best = Attributes(user.display_name, user.email, None)
    best_rank = rules.rank(directory)
    for other, claims in rules.claims.items():
        claim = claims.get(user.username)
        if claim is None or not claim.active or not rules.shared(directory, other):
            continue
        if rules.rank(other) < best_rank:
            best = Attributes(claim.display_name, claim.email, other)
            best_rank = rules.rank(other)
    return best


def active_elsewhere(username: str, directory: str, rules: PlanRules) -> str | None:
    """A sharing directory that keeps `username` active, or None."""
    for other in sorted(rules.claims, key=rules.rank):
        claim = rules.claims[other].get(username)
        if claim is not None and claim.active and rules.shared(directory, other):
            return other
    return None
