"""Admin API group resources: `/groups`, `/groups/count`, `/groups/{id}`, `…/children`, `…/members`.

Follows Keycloak 26's GroupsResource: `GET /groups` lists top-level groups by name with
`subGroupCount` and an always-empty `subGroups`; only `search`/`q` fill `subGroups`, with the
path from each match up to its root. `/children` defaults to max 10, `/members` to max 100.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from roster.simulators.directory import DirectoryGroup
from roster.simulators.keycloak.errors import not_found
from roster.simulators.keycloak.query import Params
from roster.simulators.keycloak.representations import group_rep, users_json
from roster.simulators.keycloak.state import SimState
from roster.simulators.keycloak.store import page


def list_groups(state: SimState, p: Params, path: dict[str, str]) -> list[dict[str, Any]]:
    store = state.store
    search, query = p.text("search"), p.text("q")
    exact = p.flag("exact", False)
    if query is not None:
        wanted = _query_fields(query)
        matches = [
            g for g in store.groups_by_name() if all(g.attributes.get(k) == v for k, v in wanted)
        ]
    elif search is not None:
        term = search.strip()
        matches = [
            g
            for g in store.groups_by_name()
            if (g.name == term if exact else term.lower() in g.name.lower())
        ]
    else:
        matches = store.top_groups()
    selected = page(matches, p.integer("first"), p.integer("max"))
    full = not p.flag("briefRepresentation", True)
    counts = p.flag("subGroupsCount", True)
    if p.flag("populateHierarchy", True):
        return _hierarchy(state, selected, full=full, counts=counts)
    return [_rep(state, g, full=full, counts=counts) for g in selected]


def count_groups(state: SimState, p: Params, path: dict[str, str]) -> dict[str, int]:
    search = p.text("search")
    if search is not None:
        term = search.lower()
        return {"count": sum(term in g.name.lower() for g in state.store.groups_by_name())}
    return {"count": state.store.group_count(top_only=p.flag("top", False))}


def get_group(state: SimState, p: Params, path: dict[str, str]) -> dict[str, Any]:
    return _rep(state, _group(state, path["id"]), full=True, counts=True)


def group_children(state: SimState, p: Params, path: dict[str, str]) -> list[dict[str, Any]]:
    children = state.store.children(_group(state, path["id"]).id)
    search = p.text("search")
    if search is not None:
        exact = p.flag("exact", False)
        children = [
            g for g in children if (g.name == search if exact else search.lower() in g.name.lower())
        ]
    full = not p.flag("briefRepresentation", False)
    counts = p.flag("subGroupsCount", True)
    selected = page(children, p.integer("first", 0), p.integer("max", 10))
    return [_rep(state, g, full=full, counts=counts) for g in selected]


def group_members(state: SimState, p: Params, path: dict[str, str]) -> bytes:
    group = _group(state, path["id"])
    brief = p.flag("briefRepresentation", False)
    users = state.store.directory.users
    ids = page(state.store.members(group.id), p.integer("first", 0), p.integer("max", 100))
    return users_json((users[uid] for uid in ids), state.store.memo, brief=brief, access=False)


def _group(state: SimState, group_id: str) -> DirectoryGroup:
    group = state.store.group(group_id)
    if group is None:
        raise not_found("Could not find group by id")
    return group


def _rep(
    state: SimState,
    group: DirectoryGroup,
    *,
    full: bool,
    counts: bool,
    sub_groups: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    store = state.store
    return group_rep(
        group,
        path=store.path(group),
        full=full,
        subgroup_count=store.subgroup_count(group.id) if counts else None,
        sub_groups=sub_groups,
    )


def _hierarchy(
    state: SimState, selected: Sequence[DirectoryGroup], *, full: bool, counts: bool
) -> list[dict[str, Any]]:
    """Each selected group inside its ancestors, siblings left out; roots sorted by name."""
    store = state.store
    reps: dict[str, dict[str, Any]] = {}
    roots: dict[str, DirectoryGroup] = {}
    for group in selected:
        current: DirectoryGroup | None = group
        child_rep: dict[str, Any] | None = None
        while current is not None:
            rep = reps.get(current.id)
            if rep is None:
                rep = _rep(state, current, full=full, counts=counts, sub_groups=[])
                reps[current.id] = rep
            if child_rep is not None and all(s["id"] != child_rep["id"] for s in rep["subGroups"]):
                rep["subGroups"].append(child_rep)
            child_rep = rep
            if current.parent_id is None:
                roots[current.id] = current
                break
            current = store.group(current.parent_id)
    return [reps[g.id] for g in sorted(roots.values(), key=lambda g: g.name)]


def _query_fields(query: str) -> list[tuple[str, str]]:
    pairs = (part.split(":", 1) for part in query.split() if ":" in part)
    return [(key, value) for key, value in pairs]
