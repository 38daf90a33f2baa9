"""Properties of the planner over generated directories and Confluence states.

Convergence (a plan applied, then planned again, is empty), scope safety (protected users
and groups, unlinked or foreign users), determinism and per-key order.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st
from reconciler_support import DIRECTORY, RUN, converge, links_of

from roster.reconciler.core.desired import DesiredState, build_desired
from roster.reconciler.core.plan import Plan
from roster.reconciler.core.policy import Policy
from roster.reconciler.core.state import ActualState, IdpSnapshot, Owner
from roster.shared.config import DirectorySettings
from roster.shared.messages.commands import AddMembership, GroupCommand, UserCommand
from roster.shared.messages.directory import IdpGroup, IdpUser
from roster.shared.messages.state import ConfluenceUser

LOGINS = ["ada", "Ada", "bob", "carl", "admin", "dora", "eve", "fay lee"]
USERNAMES = ["ada", "bob", "carl", "admin", "dora", "eve", "gus"]
SUBJECTS = [f"s{i}" for i in range(8)]
GROUPS = ["Eng", "eng", "Ops", "staff", "confluence-users", "confluence-administrators"]
CF_GROUPS = ["eng", "ops", "staff", "wiki", "confluence-users", "confluence-administrators"]
maybe_text = st.one_of(st.none(), st.sampled_from(["", " ", "Ada", "Bob B", "X"]))


@dataclass(frozen=True)
class World:
    snapshot: IdpSnapshot
    settings: DirectorySettings
    actual: ActualState
    policy: Policy


@st.composite
def idp_users(draw: st.DrawFn) -> list[IdpUser]:
    subjects = draw(st.lists(st.sampled_from(SUBJECTS), unique=True, max_size=7))
    return [
        IdpUser(
            subject=s,
            login=draw(st.sampled_from(LOGINS)),
            email=draw(st.sampled_from([None, "", "a@x.io", "A@X.io", "b@y.io"])),
            display_name=draw(maybe_text),
            given_name=draw(maybe_text),
            family_name=draw(maybe_text),
            active=draw(st.booleans()),
        )
        for s in subjects
    ]


@st.composite
def idp_snapshots(draw: st.DrawFn) -> IdpSnapshot:
    users = draw(idp_users())
    names = draw(st.lists(st.sampled_from(GROUPS), unique=True, max_size=4))
    groups = tuple(IdpGroup(id=f"g{i}", name=n) for i, n in enumerate(names))
    members = {
        g.id: frozenset(draw(st.lists(st.sampled_from(SUBJECTS), unique=True))) for g in groups
    }
    return IdpSnapshot(users=tuple(users), groups=groups, members=members)


@st.composite
def owners(draw: st.DrawFn) -> dict[str, Owner]:
    usernames = draw(st.lists(st.sampled_from(USERNAMES), unique=True))
    subjects = draw(st.permutations(SUBJECTS))
    result = {}
    for username, subject in zip(usernames, subjects, strict=False):
        mine = draw(st.integers(0, 3)) > 0
        result[username] = Owner(DIRECTORY if mine else "okta", subject)
    return result


@st.composite
def confluence(draw: st.DrawFn, links: dict[str, Owner]) -> ActualState:
    users = [
        ConfluenceUser(
            username=draw(st.sampled_from([u, u.upper()])),
            display_name=draw(st.sampled_from(["", "Ada", "Bob B", u])),
            email=draw(st.sampled_from([None, "a@x.io", "A@x.IO", "b@y.io"])),
            active=draw(st.booleans()),
        )
        for u in draw(st.lists(st.sampled_from(USERNAMES), unique=True))
    ]
    groups = draw(st.lists(st.sampled_from(CF_GROUPS), unique=True))
    names = [u.username.lower() for u in users]
    members = {
        g: draw(st.lists(st.sampled_from(names), unique=True)) if names else [] for g in groups
    }
    return ActualState.of(users=users, groups=groups, members=members, owners=links)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    links = draw(owners())
    rules = Policy(
        directory=DIRECTORY,
        deprovision=draw(st.sampled_from(["deactivate", "delete", "remove-groups-only", "none"])),
        protected_users=frozenset(draw(st.sets(st.sampled_from(["admin", "dora"])))),
        protected_groups=frozenset(
            draw(
                st.sets(st.sampled_from(["confluence-users", "confluence-administrators", "staff"]))
            )
        ),
    )
    defaults = draw(st.lists(st.sampled_from(["staff", "Staff", "all", "confluence-users"])))
    settings_ = DirectorySettings(id=DIRECTORY, kind="ldap", default_groups=defaults)
    return World(draw(idp_snapshots()), settings_, draw(confluence(links)), rules)


def desired_in(world: World) -> DesiredState:
    return build_desired(world.snapshot, world.settings, links_of(world.actual))


@settings(max_examples=400, deadline=None)
@given(worlds())
def test_a_plan_applied_then_planned_again_is_empty(world: World) -> None:
    first, after, second = converge(world.snapshot, world.settings, world.actual, world.policy)
    assert second.commands == (), [c.reason for c in second.commands]
    assert second.links == ()
    assert second.summary.writes == 0
    assert links_of(after).items() >= links_of(world.actual).items()


def _touches_protected_group(plan_: Plan, world: World) -> list[str]:
    bad = []
    for c in plan_.commands:
        group = getattr(c, "group", None)
        if group is None or not world.policy.protects_group(group):
            continue
        allowed = (
            isinstance(c, AddMembership)
            and group in [g.lower() for g in world.settings.default_groups]
            and group in world.actual.groups
        )
        if not allowed:
            bad.append(f"{c.type} {c.target}")
    return bad


@settings(max_examples=400, deadline=None)
@given(worlds())
def test_no_command_touches_protected_or_foreign_or_unmanaged_users(world: World) -> None:
    desired = desired_in(world)
    first, _, _ = converge(world.snapshot, world.settings, world.actual, world.policy)
    mine = set(world.actual.linked(DIRECTORY))
    for command in first.commands:
        assert isinstance(command, UserCommand | GroupCommand)
        if isinstance(command, UserCommand):
            username = command.username
            assert not world.policy.protects_user(username)
            assert username in mine or username in desired.users, "unlinked, not desired"
            owner = world.actual.owners.get(username)
            assert owner is None or owner.directory == DIRECTORY, "linked to another directory"
    assert _touches_protected_group(first, world) == []
    for link in first.links:
        assert link.username not in world.actual.owners
        assert desired.users[link.username].subject == link.subject


@settings(max_examples=200, deadline=None)
@given(worlds())
def test_plans_are_deterministic_ordered_and_counted(world: World) -> None:
    first, _, _ = converge(world.snapshot, world.settings, world.actual, world.policy)
    again, _, _ = converge(world.snapshot, world.settings, world.actual, world.policy)
    assert first == again
    assert all(c.run_id == RUN for c in first.commands)
    ids = [c.command_id for c in first.commands]
    assert len(set(ids)) == len(ids)
    assert first.summary.writes == len(first.commands)
    kinds = [c.type for c in first.commands]
    groups_done = kinds.count("CreateGroup")
    assert set(kinds[:groups_done]) <= {"CreateGroup"}
    assert "CreateGroup" not in kinds[groups_done:]
    seen_membership: set[str] = set()
    for command in first.commands:
        if command.type in ("AddMembership", "RemoveMembership"):
            seen_membership.add(command.key)
        if command.type == "CreateUser":
            assert command.key not in seen_membership
