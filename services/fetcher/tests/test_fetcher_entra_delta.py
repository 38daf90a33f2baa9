"""Entra delta sync against the simulator's `/users/delta` and `/groups/delta`: the changes
applied to the snapshot before equal the snapshot after; large groups split across repeated
objects; expired (400 `syncStateNotFound`) and reset (410) tokens are `CursorExpired`; the
pure folding of replayed and repeated delta objects."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fetcher_support import FakeClock, Snapshot, collect
from test_fetcher_entra_connector import (  # noqa: F401 - fixtures
    _secret,
    clients,
    connect,
    make_sim,
)

from roster.fetcher.core.changes import (
    ChangeSet,
    CursorExpired,
    GroupDeleted,
    GroupUpserted,
    MemberAdded,
    MemberRemoved,
    UserDeleted,
    UserUpserted,
)
from roster.fetcher.core.entra import DeltaCursor, complete_user, fold_groups, fold_users

USER_TYPE = "#microsoft.graph.user"


def view(snap: Snapshot) -> dict[str, Any]:
    return {
        "users": {u.subject: u for u in snap.users},
        "groups": {g.id: g.name for g in snap.groups},
        "members": {g: set(m) for g, m in snap.members.items()},
    }


def apply(before: dict[str, Any], changes: ChangeSet) -> dict[str, Any]:
    users = dict(before["users"])
    groups = dict(before["groups"])
    members = {g: set(m) for g, m in before["members"].items()}
    for change in changes.changes:
        match change:
            case UserUpserted(user=user):
                users[user.subject] = user
            case UserDeleted(subject=subject):
                users.pop(subject, None)
                for m in members.values():
                    m.discard(subject)
            case GroupUpserted(group=group):
                groups[group.id] = group.name
                members.setdefault(group.id, set())
            case GroupDeleted(group_id=gid):
                groups.pop(gid, None)
                members.pop(gid, None)
            case MemberAdded(group_id=gid, subject=subject):
                members.setdefault(gid, set()).add(subject)
            case MemberRemoved(group_id=gid, subject=subject):
                members.setdefault(gid, set()).discard(subject)
    return {"users": users, "groups": groups, "members": members}


async def mutate(http: httpx.AsyncClient) -> None:
    """One of every change an Entra admin makes."""
    data = (await http.get("/_sim/directory")).json()
    users = [u["id"] for u in data["users"]]
    groups = [g["id"] for g in data["groups"]]
    new = (
        await http.post(
            "/_sim/users",
            json={"userPrincipalName": "new.hire@contoso.onmicrosoft.com",
                  "mail": "new.hire@example.com", "givenName": "New", "surname": "Hire"},
        )
    ).json()  # fmt: skip
    await http.patch(f"/_sim/users/{users[0]}", json={"displayName": "Renamed Person"})
    await http.patch(f"/_sim/users/{users[1]}", json={"accountEnabled": False})
    await http.delete(f"/_sim/users/{users[2]}")  # soft delete: @removed changed
    await http.delete(f"/_sim/users/{users[3]}", params={"permanent": "true"})
    await http.delete(f"/_sim/users/{users[4]}")
    await http.post(f"/_sim/users/{users[4]}/restore")  # back again
    group = (await http.post("/_sim/groups", json={"displayName": "Delta Team"})).json()
    await http.put(f"/_sim/groups/{group['id']}/members/{new['id']}")
    await http.put(f"/_sim/groups/{group['id']}/members/{users[5]}")
    await http.patch(f"/_sim/groups/{groups[1]}", json={"displayName": "eng-renamed"})
    first_members = data["memberships"][groups[2]]
    await http.delete(f"/_sim/groups/{groups[2]}/members/{first_members[0]}")
    outsider = next(u for u in users[7:] if u not in first_members)
    await http.put(f"/_sim/groups/{groups[2]}/members/{outsider}")
    await http.put(f"/_sim/groups/{groups[2]}/members/{users[6]}")
    await http.delete(f"/_sim/groups/{groups[2]}/members/{users[6]}")  # added then removed
    await http.delete(f"/_sim/groups/{groups[-1]}")


async def test_delta_applied_to_the_old_snapshot_gives_the_new_one(
    clients: list[httpx.AsyncClient],  # noqa: F811
) -> None:
    sim = make_sim()
    sim.state.config.delta_page_size = 7  # several nextLinks per round
    connector, http = connect(sim, clients)
    before = view(await collect(connector))
    cursor = await connector.start_cursor()
    await mutate(http)
    result = await connector.changes(cursor)
    after = view(await collect(connector))
    assert apply(before, result) == after
    kinds = {type(c).__name__ for c in result.changes}
    assert kinds == {"UserUpserted", "UserDeleted", "GroupUpserted", "GroupDeleted",
                     "MemberAdded", "MemberRemoved"}  # fmt: skip
    # groups come before the memberships that need them, deletions last
    order = [type(c).__name__ for c in result.changes]
    assert order.index("GroupUpserted") < order.index("MemberAdded")
    assert order[-1] in ("UserDeleted", "GroupDeleted")
    # nothing changed since: an empty round, and the cursor keeps working
    again = await connector.changes(result.cursor)
    assert again.changes == ()
    assert DeltaCursor.decode(again.cursor)


async def test_large_group_membership_split_across_repeated_objects(
    clients: list[httpx.AsyncClient],  # noqa: F811
) -> None:
    sim = make_sim()
    sim.state.config.members_per_delta_object = 4
    sim.state.config.delta_page_size = 3
    connector, http = connect(sim, clients)
    cursor = await connector.start_cursor()
    data = (await http.get("/_sim/directory")).json()
    group = data["groups"][-2]["id"]
    outsiders = [u["id"] for u in data["users"] if u["id"] not in data["memberships"][group]]
    for subject in outsiders[:19]:
        await http.put(f"/_sim/groups/{group}/members/{subject}")
    result = await connector.changes(cursor)
    added = {c.subject for c in result.changes if isinstance(c, MemberAdded)}
    assert added == set(outsiders[:19])
    # Graph sent the group five times (4 members each), over several pages
    rounds = [e for e in sim.state.requests.entries() if e["path"] == "/v1.0/groups/delta"]
    assert len(rounds) >= 3


async def test_expired_delta_token_is_cursor_expired(
    clients: list[httpx.AsyncClient],  # noqa: F811
) -> None:
    clock = FakeClock()
    sim = make_sim(clock=clock)
    connector, _ = connect(sim, clients)
    cursor = await connector.start_cursor()
    clock.advance(7 * 24 * 3600 + 1)
    with pytest.raises(CursorExpired, match="syncStateNotFound"):
        await connector.changes(cursor)


async def test_reset_delta_token_410_is_cursor_expired(
    clients: list[httpx.AsyncClient],  # noqa: F811
) -> None:
    sim = make_sim()
    connector, http = connect(sim, clients)
    cursor = await connector.start_cursor()
    await http.post("/_sim/delta/reset")
    with pytest.raises(CursorExpired, match="410"):
        await connector.changes(cursor)
    fresh = await connector.start_cursor()
    assert (await connector.changes(fresh)).changes == ()


async def test_unreadable_cursor_is_cursor_expired(
    clients: list[httpx.AsyncClient],  # noqa: F811
) -> None:
    connector, _ = connect(make_sim(), clients)
    with pytest.raises(CursorExpired):
        await connector.changes('{"v": 1, "users": 3}')


async def test_transitive_mode_asks_for_a_full_sync_when_membership_changed(
    clients: list[httpx.AsyncClient],  # noqa: F811
) -> None:
    sim = make_sim()
    connector, http = connect(sim, clients, membership="transitive")
    cursor = await connector.start_cursor()
    data = (await http.get("/_sim/directory")).json()
    await http.patch(f"/_sim/users/{data['users'][0]['id']}", json={"displayName": "X Y"})
    result = await connector.changes(cursor)  # a user change alone is fine
    assert [type(c) for c in result.changes] == [UserUpserted]
    group = data["groups"][0]["id"]
    await http.delete(f"/_sim/groups/{group}/members/{data['memberships'][group][0]}")
    with pytest.raises(CursorExpired, match="transitive"):
        await connector.changes(result.cursor)


FOLD_CASES: list[tuple[str, list[dict[str, Any]], dict[tuple[str, str], bool], set[str]]] = [
    (
        "repeated group objects merge their members",
        [
            {
                "id": "g",
                "displayName": "G",
                "members@delta": [{"@odata.type": USER_TYPE, "id": "a"}],
            },
            {"id": "g", "members@delta": [{"@odata.type": USER_TYPE, "id": "b"}]},
        ],
        {("g", "a"): True, ("g", "b"): True},
        set(),
    ),
    (
        "a replayed add after a remove: the last word wins",
        [
            {"id": "g", "members@delta": [{"id": "a", "@removed": {"reason": "deleted"}}]},
            {"id": "g", "members@delta": [{"id": "a"}]},
        ],
        {("g", "a"): True},
        set(),
    ),
    (
        "nested groups are not user memberships",
        [{"id": "g", "members@delta": [{"@odata.type": "#microsoft.graph.group", "id": "h"}]}],
        {},
        set(),
    ),
    (
        "a removed group after its members",
        [
            {"id": "g", "members@delta": [{"id": "a"}]},
            {"id": "g", "@removed": {"reason": "changed"}},
        ],
        {("g", "a"): True},
        {"g"},
    ),
]


@pytest.mark.parametrize(("case", "objects", "members", "removed"), FOLD_CASES)
def test_fold_groups(
    case: str,
    objects: list[dict[str, Any]],
    members: dict[tuple[str, str], bool],
    removed: set[str],
) -> None:
    folded = fold_groups(objects)
    assert folded.members == members, case
    assert folded.removed == removed, case


def test_fold_users_keeps_the_last_state_and_marks_partial_objects() -> None:
    folded = fold_users(
        [
            {"id": "u", "userPrincipalName": "u@x", "accountEnabled": True},
            {"id": "v", "@removed": {"reason": "changed"}},
            {"id": "u", "displayName": "U"},
            {"id": "w", "displayName": "only this changed"},
            {"id": "v", "userPrincipalName": "v@x", "accountEnabled": True},  # restored
        ]
    )
    assert set(folded.present) == {"u", "v", "w"}
    assert folded.removed == {}
    assert folded.present["u"]["displayName"] == "U"
    assert complete_user(folded.present["u"])
    assert not complete_user(folded.present["w"])  # re-read with GET /users/{id}
