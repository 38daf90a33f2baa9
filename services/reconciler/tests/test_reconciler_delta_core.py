"""Properties of delta planning (core/delta.py) over generated directories and changes.

1. The directory state ⊕ a delta's events equals the snapshot taken after the changes.
2. With Confluence converged to the state before, planning a delta run the way the
   reconciler does (Confluence read only for the delta's read scope, plan filtered to the
   affected users and groups) gives exactly the commands of a full sync after the change.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st
from reconciler_support import DIRECTORY, ISSUED, converge, links_of, ops, policy

from roster.reconciler.core.delta import (
    DeltaEvent,
    apply_delta,
    keep_affected,
    scope_of,
    snapshot_diff,
)
from roster.reconciler.core.desired import build_desired
from roster.reconciler.core.plan import plan
from roster.reconciler.core.state import ActualState, IdpSnapshot
from roster.shared.config import DirectorySettings
from roster.shared.messages.directory import (
    GroupChanged,
    GroupRemoved,
    IdpGroup,
    IdpUser,
    MembershipAdded,
    MembershipRemoved,
    UserChanged,
    UserRemoved,
)
from roster.shared.messages.state import ConfluenceUser

LOGINS = [f"user{i}" for i in range(14)] + ["bad login"]
NAMES = ["eng", "Eng", "ops", "staff", "wiki", "sales", "confluence-users"]
SUBJECTS = [f"s{i}" for i in range(10)]


def normal(s: IdpSnapshot) -> tuple[dict[str, IdpUser], dict[str, IdpGroup], dict[str, set[str]]]:
    members = {g: set(m) for g, m in s.members.items() if m}
    return {u.subject: u for u in s.users}, {g.id: g for g in s.groups}, members


@st.composite
def users(draw: st.DrawFn, subject: str) -> IdpUser:
    login = draw(st.sampled_from(LOGINS))
    return IdpUser(
        subject=subject,
        login=login,
        email=draw(st.sampled_from([f"{login.replace(' ', '')}@x.io", None, "same@x.io"])),
        display_name=draw(st.sampled_from([None, "Ada", "Bob"])),
        active=draw(st.booleans()),
    )


@st.composite
def snapshots(draw: st.DrawFn) -> IdpSnapshot:
    subjects = draw(st.lists(st.sampled_from(SUBJECTS), unique=True, max_size=8))
    people = [draw(users(s)) for s in subjects]
    groups: list[IdpGroup] = []
    for i, name in enumerate(draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=5))):
        parent = draw(st.sampled_from([None, *[g.id for g in groups]]))
        groups.append(IdpGroup(id=f"g{i}", name=name, parent_id=parent))
    members = {
        g.id: frozenset(draw(st.lists(st.sampled_from(subjects), unique=True)) if subjects else [])
        for g in groups
    }
    return IdpSnapshot(users=tuple(people), groups=tuple(groups), members=members)


@dataclass
class Model:
    """A directory the test changes by hand; each change yields the fetcher's events."""

    users: dict[str, IdpUser]
    groups: dict[str, IdpGroup]
    members: dict[str, set[str]]

    def snapshot(self) -> IdpSnapshot:
        return IdpSnapshot(
            tuple(self.users.values()),
            tuple(self.groups.values()),
            {g: frozenset(m) for g, m in self.members.items()},
        )


def ev(cls: type, **fields: object) -> DeltaEvent:
    return cls(run_id="d", directory=DIRECTORY, **fields)  # type: ignore[no-any-return]


@st.composite
def changed(draw: st.DrawFn, base: IdpSnapshot) -> tuple[list[DeltaEvent], IdpSnapshot]:
    before = normal(base)
    m = Model(
        dict(before[0]), dict(before[1]), {g: set(base.members.get(g, ())) for g in before[1]}
    )
    events: list[DeltaEvent] = []
    for step in range(draw(st.integers(1, 6))):
        kind = draw(
            st.sampled_from(["user", "remove-user", "group", "remove-group", "add", "drop"])
        )
        if kind == "user":
            user = draw(users(draw(st.sampled_from(SUBJECTS))))
            m.users[user.subject] = user
            events.append(ev(UserChanged, user=user))
        elif kind == "remove-user" and m.users:
            subject = draw(st.sampled_from(sorted(m.users)))
            del m.users[subject]
            for group_members in m.members.values():
                group_members.discard(subject)
            events.append(ev(UserRemoved, subject=subject))
        elif kind == "group":
            gid = draw(st.sampled_from([*sorted(m.groups), f"new{step}"]))
            parent = m.groups[gid].parent_id if gid in m.groups else None
            group = IdpGroup(id=gid, name=draw(st.sampled_from(NAMES)), parent_id=parent)
            m.groups[gid] = group
            m.members.setdefault(gid, set())
            events.append(ev(GroupChanged, group=group))
        elif kind == "remove-group" and m.groups:
            gid = draw(st.sampled_from(sorted(m.groups)))
            doomed, grew = {gid}, True
            while grew:
                more = {g for g, grp in m.groups.items() if grp.parent_id in doomed} - doomed
                grew = bool(more)
                doomed |= more
            for g in doomed:
                del m.groups[g]
                m.members.pop(g, None)
            events.append(ev(GroupRemoved, group_id=gid))
        elif kind in ("add", "drop") and m.groups and m.users:
            gid = draw(st.sampled_from(sorted(m.groups)))
            subject = draw(st.sampled_from(sorted(m.users)))
            if kind == "add":
                m.members[gid].add(subject)
                events.append(ev(MembershipAdded, group_id=gid, subject=subject))
            else:
                m.members[gid].discard(subject)
                events.append(ev(MembershipRemoved, group_id=gid, subject=subject))
    return events, m.snapshot()


SETTINGS = DirectorySettings(id=DIRECTORY, kind="ldap", default_groups=["wiki-users"])


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_state_plus_delta_equals_the_snapshot_after(data: st.DataObject) -> None:
    base = data.draw(snapshots())
    events, after = data.draw(changed(base))
    applied = apply_delta(base, events)
    assert normal(applied.snapshot) == normal(after)
    diff = snapshot_diff(base, applied)  # what the intake writes over the copied state
    users, groups, members = normal(base)
    users.update({u.subject: u for u in diff.put_users})
    for subject in diff.drop_users:
        del users[subject]
    groups.update({g.id: g for g in diff.put_groups})
    for group_id in diff.drop_groups:
        del groups[group_id]
        members.pop(group_id, None)
    for group_id, added in diff.add_members.items():
        members[group_id] = members.get(group_id, set()) | added
    for group_id, removed in diff.remove_members.items():
        members[group_id] = members.get(group_id, set()) - removed
    assert (users, groups, {g: m for g, m in members.items() if m}) == normal(applied.snapshot)


@settings(max_examples=300, deadline=None)
@given(st.data(), st.sampled_from(["deactivate", "delete", "remove-groups-only", "none"]))
def test_a_delta_plan_is_the_full_plan_after_the_change(
    data: st.DataObject, deprovision: str
) -> None:
    rules = policy(deprovision=deprovision)
    base = data.draw(snapshots())
    extra = data.draw(st.lists(st.sampled_from(["outsider", "user3", "wiki"]), unique=True))
    start = ActualState.of(users=[ConfluenceUser(username=u) for u in extra], groups=["eng"])
    _, converged, again = converge(base, SETTINGS, start, rules)
    assert not again.commands
    events, after = data.draw(changed(base))
    links = links_of(converged)
    desired = build_desired(after, SETTINGS, links)
    full = plan(desired, converged, rules, run_id="d", issued_at=ISSUED)
    applied = apply_delta(base, events)
    scope = scope_of(applied, base, SETTINGS, links)
    read = ActualState(  # what the writer reads for the delta: all users, the scope's groups
        users=converged.users,
        groups=converged.groups,
        members={g: m for g, m in converged.members.items() if g in scope.read_groups},
        owners=converged.owners,
    )
    delta = keep_affected(plan(desired, read, rules, run_id="d", issued_at=ISSUED), scope)
    assert ops(delta) == ops(full)
    assert {link.username for link in delta.links} == {link.username for link in full.links}


def test_single_user_groups_are_its_complete_group_set() -> None:
    user = IdpUser(subject="s1", login="ada", email="ada@x.io")
    base = IdpSnapshot(
        users=(user,),
        groups=(IdpGroup(id="a", name="a"), IdpGroup(id="b", name="b")),
        members={"a": frozenset({"s1", "s2"}), "b": frozenset({"s1"})},
    )
    events: list[DeltaEvent] = [
        ev(UserChanged, user=user),
        ev(GroupChanged, group=IdpGroup(id="c", name="c")),
        ev(MembershipAdded, group_id="c", subject="s1"),
        ev(GroupChanged, group=IdpGroup(id="a", name="a")),
        ev(MembershipAdded, group_id="a", subject="s1"),
    ]
    applied = apply_delta(base, events, single="s1")
    assert applied.snapshot.members == {
        "a": frozenset({"s1", "s2"}),
        "b": frozenset(),
        "c": frozenset({"s1"}),
    }
    assert applied.changed_groups == frozenset()  # one member known: no group-wide change
    assert applied.touched_groups == {"a", "b", "c"}
