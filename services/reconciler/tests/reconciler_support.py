"""Builders for the reconciler tests (a uniquely named module, so it never clashes)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from roster.reconciler.core.apply import apply
from roster.reconciler.core.desired import DesiredState, build_desired
from roster.reconciler.core.plan import Plan, plan
from roster.reconciler.core.policy import Policy
from roster.reconciler.core.state import ActualState, IdpSnapshot, Owner
from roster.shared.config import DirectorySettings
from roster.shared.messages.directory import IdpGroup, IdpUser
from roster.shared.messages.state import ConfluenceUser

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:36379/0")
KAFKA_BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:39092")
DIRECTORY = "kc"
RUN = "run-1"
ISSUED = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def idp(login: str, *, subject: str | None = None, **fields: Any) -> IdpUser:
    """An IdP user; subject defaults to `s-<login>`, email to `<login>@example.com`."""
    fields.setdefault("email", f"{login}@example.com")
    fields.setdefault("display_name", login.title())
    return IdpUser(subject=subject or f"s-{login.lower()}", login=login, **fields)


def cf(username: str, **fields: Any) -> ConfluenceUser:
    """A Confluence user matching `idp(username)` unless fields say otherwise."""
    fields.setdefault("email", f"{username}@example.com")
    fields.setdefault("display_name", username.title())
    return ConfluenceUser(username=username, **fields)


def snapshot(
    users: Iterable[IdpUser] = (), groups: Mapping[str, Iterable[str]] | None = None
) -> IdpSnapshot:
    """`groups`: IdP group name → member logins (group id `g-<name>`, subjects `s-<login>`)."""
    groups = groups or {}
    return IdpSnapshot(
        users=tuple(users),
        groups=tuple(IdpGroup(id=f"g-{name}", name=name) for name in groups),
        members={f"g-{n}": frozenset(f"s-{m.lower()}" for m in ms) for n, ms in groups.items()},
    )


def directory(**fields: Any) -> DirectorySettings:
    return DirectorySettings(
        id=DIRECTORY,
        kind="ldap",
        **fields,
    )


def desired_of(
    users: Iterable[IdpUser] = (),
    groups: Mapping[str, Iterable[str]] | None = None,
    *,
    links: Mapping[str, str] | None = None,
    default_groups: Iterable[str] = (),
) -> DesiredState:
    return build_desired(
        snapshot(users, groups), directory(default_groups=list(default_groups)), links or {}
    )


def linked(*usernames: str, directory: str = DIRECTORY) -> dict[str, Owner]:
    """Owners for `usernames` linked to `s-<username>` of `directory`."""
    return {u: Owner(directory, f"s-{u}") for u in usernames}


def policy(**fields: Any) -> Policy:
    fields.setdefault("protected_users", frozenset({"admin"}))
    fields.setdefault(
        "protected_groups", frozenset({"confluence-administrators", "confluence-users"})
    )
    return Policy(directory=DIRECTORY, **fields)


def make_plan(desired: DesiredState, actual: ActualState, rules: Policy | None = None) -> Plan:
    return plan(desired, actual, rules or policy(), run_id=RUN, issued_at=ISSUED)


def links_of(actual: ActualState, directory: str = DIRECTORY) -> dict[str, str]:
    """The link table of `directory` (subject → username) as `actual.owners` records it."""
    return {o.subject: u for u, o in actual.owners.items() if o.directory == directory}


def converge(
    snap: IdpSnapshot, settings: DirectorySettings, actual: ActualState, rules: Policy
) -> tuple[Plan, ActualState, Plan]:
    """Plan, apply, rebuild desired from the new link table, plan again."""
    first = plan(
        build_desired(snap, settings, links_of(actual)),
        actual,
        rules,
        run_id=RUN,
        issued_at=ISSUED,
    )
    after = apply(first, actual)
    second = plan(
        build_desired(snap, settings, links_of(after)),
        after,
        rules,
        run_id="run-2",
        issued_at=ISSUED,
    )
    return first, after, second


def ops(plan_: Plan) -> list[tuple[str, str]]:
    """(operation, target) of every command, in order."""
    return [(c.type, c.target) for c in plan_.commands]


def reasons(plan_: Plan) -> dict[str, str]:
    return {f"{c.type} {c.target}": c.reason for c in plan_.commands}
