"""Admin API user resources: `GET /users`, `/users/count`, `/users/{id}`, `/users/{id}/groups`.

Mirrors Keycloak 26's UsersResource: username order, `search` as prefix match per word (`*`
wildcard, `"…"` exact), attribute filters as case-insensitive infix (or exact with `exact`),
the service account hidden from plain listings and `search` but not from attribute filters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from itertools import islice
from typing import Any

from roster.simulators.directory import DirectoryUser
from roster.simulators.keycloak.errors import not_found
from roster.simulators.keycloak.query import Params
from roster.simulators.keycloak.representations import group_rep, user_rep, users_json
from roster.simulators.keycloak.state import SimState
from roster.simulators.keycloak.store import page

UserFilter = Callable[[DirectoryUser], bool]
DEFAULT_MAX = 100
_ATTRIBUTE_FILTERS = (
    "lastName",
    "firstName",
    "email",
    "username",
    "emailVerified",
    "idpAlias",
    "idpUserId",
    "enabled",
    "exact",
    "q",
)


def list_users(state: SimState, p: Params, path: dict[str, str]) -> bytes:
    first = p.integer("first")
    max_results = p.integer("max", DEFAULT_MAX)
    brief = p.flag("briefRepresentation", False)
    store = state.store
    selection = _selection(state, p)
    if selection is None:
        users: Iterable[DirectoryUser] = store.users_page(first, max_results)
    else:
        matches, _ = selection
        start = first if first is not None and first > 0 else 0
        stop = None if max_results is None or max_results < 0 else start + max_results
        users = islice(matches, start, stop)
    return users_json(users, store.memo, brief=brief, access=True)


def count_users(state: SimState, p: Params, path: dict[str, str]) -> int:
    selection = _selection(state, p)
    if selection is None:
        return state.store.user_count()
    matches, _ = selection
    return sum(1 for _ in matches)


def get_user(state: SimState, p: Params, path: dict[str, str]) -> dict[str, Any]:
    return user_rep(_user(state, path["id"]), brief=False, access=True)


def user_groups(state: SimState, p: Params, path: dict[str, str]) -> list[dict[str, Any]]:
    groups = state.store.groups_of(_user(state, path["id"]).id)
    search = p.text("search")
    if search is not None:
        groups = [g for g in groups if search.lower() in g.name.lower()]
    full = not p.flag("briefRepresentation", True)
    return [
        group_rep(g, path=state.store.path(g), full=full, access=False)
        for g in page(groups, p.integer("first"), p.integer("max"))
    ]


def count_user_groups(state: SimState, p: Params, path: dict[str, str]) -> dict[str, int]:
    groups = state.store.groups_of(_user(state, path["id"]).id)
    search = p.text("search")
    if search is not None:
        groups = [g for g in groups if search.lower() in g.name.lower()]
    return {"count": len(groups)}


def _user(state: SimState, user_id: str) -> DirectoryUser:
    user = state.store.user(user_id)
    if user is None:
        raise not_found("User not found")
    return user


def _selection(state: SimState, p: Params) -> tuple[Iterable[DirectoryUser], bool] | None:
    """Matching users in username order, or None for the unfiltered (indexed) listing."""
    store = state.store
    search = p.text("search")
    checks: list[UserFilter] = []
    if search is not None:
        if search.startswith("id:"):
            found = (store.user(i) for i in search[3:].split())
            return [u for u in found if u is not None], False
        checks += [_search_term(term) for term in search.split()]
        include_service_account = False
    elif any(p.text(name) is not None for name in _ATTRIBUTE_FILTERS):
        checks += _attribute_checks(p)
        include_service_account = True
    else:
        return None
    for name, field in (("enabled", "enabled"), ("emailVerified", "email_verified")):
        flag = p.boolean(name)
        if flag is not None:
            checks.append(_flag_is(field, flag))
    candidates = store.iter_users(include_service_account=include_service_account)
    return (u for u in candidates if all(check(u) for check in checks)), include_service_account


def _search_term(term: str) -> UserFilter:
    """One word of `search`: `"x"` exact, else prefix with `*` as wildcard (LIKE `x%`)."""
    term = term.lower()
    if len(term) >= 2 and term[0] == term[-1] == '"':
        exact = term[1:-1]
        return lambda u: exact in (u.username, u.email, u.first_name.lower(), u.last_name.lower())
    pattern = re.compile(".*".join(re.escape(part) for part in term.split("*")))
    return lambda u: any(
        pattern.match(value)
        for value in (u.username, u.email, u.first_name.lower(), u.last_name.lower())
    )


def _attribute_checks(p: Params) -> list[UserFilter]:
    exact = p.flag("exact", False)
    checks: list[UserFilter] = []
    for name, field in (
        ("username", "username"),
        ("email", "email"),
        ("firstName", "first_name"),
        ("lastName", "last_name"),
    ):
        wanted = p.text(name)
        if wanted is None:
            continue
        checks.append(_field_matches(field, wanted.lower(), exact=exact))
    if p.text("idpAlias") is not None or p.text("idpUserId") is not None:
        checks.append(lambda u: False)  # no user is linked to an identity provider
    for key, value in _query_fields(p.text("q") or ""):
        checks.append(_attribute_matches(key, value, exact=exact))
    return checks


def _flag_is(field: str, wanted: bool) -> UserFilter:
    return lambda u: bool(getattr(u, field)) is wanted


def _field_matches(field: str, wanted: str, *, exact: bool) -> UserFilter:
    if exact:
        return lambda u: str(getattr(u, field)).lower() == wanted
    return lambda u: wanted in str(getattr(u, field)).lower()


def _attribute_matches(key: str, wanted: str, *, exact: bool) -> UserFilter:
    if exact:
        return lambda u: u.attributes.get(key) == wanted
    low = wanted.lower()
    return lambda u: key in u.attributes and low in u.attributes[key].lower()


def _query_fields(query: str) -> list[tuple[str, str]]:
    """`key1:value1 key2:"value 2"` as Keycloak's SearchQueryUtils splits it."""
    fields = re.findall(r'([^\s:]+):(?:"([^"]*)"|(\S*))', query)
    return [(key, quoted or plain) for key, quoted, plain in fields]
