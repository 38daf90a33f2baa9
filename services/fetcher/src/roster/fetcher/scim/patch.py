"""SCIM PATCH (RFC 7644 §3.5.2) on a stored resource, with what Entra and Okta really send.

`op` case-insensitive; with or without `path` (dotted and URN keys in the value); value-filter
paths; member removal by value array or by `members[value eq "…"]`; Okta's `id` in a rename
ignored, other readOnly targets `mutability`. The result is validated again by
`resources.normalise` (which turns `"False"` into false). Pure: no I/O.
"""

from __future__ import annotations

import copy
from typing import Any

from roster.fetcher.scim.errors import (
    invalid_path,
    invalid_syntax,
    invalid_value,
    mutability,
    too_many,
)
from roster.fetcher.scim.errors import no_target as no_target_error
from roster.fetcher.scim.filter import Compare, Filter, matches, parse
from roster.fetcher.scim.schemas import Attr, AttrPath, Json, ResourceKind, resolve, split_urn

MAX_OPERATIONS = 1000


def operations(body: Any) -> list[Json]:
    if not isinstance(body, dict):
        raise invalid_syntax("the PATCH body must be a JSON object")
    ops = next(
        (v for k, v in body.items() if isinstance(k, str) and k.lower() == "operations"), None
    )
    if not isinstance(ops, list) or not ops:
        raise invalid_syntax("the PATCH body needs a non-empty 'Operations' list")
    if len(ops) > MAX_OPERATIONS:
        raise too_many(f"at most {MAX_OPERATIONS} operations per request")
    for op in ops:
        if not isinstance(op, dict):
            raise invalid_syntax("every operation must be a JSON object")
    return ops


def apply(kind: ResourceKind, attrs: Json, body: Any) -> Json:
    """The resource's attributes after the PATCH body (not yet validated)."""
    out = copy.deepcopy(attrs)
    for op in operations(body):
        fields = {k.lower(): v for k, v in op.items() if isinstance(k, str)}
        name = fields.get("op")
        if not isinstance(name, str) or name.lower() not in ("add", "replace", "remove"):
            raise invalid_value(f"unknown PATCH op {name!r}: use add, replace or remove")
        verb = name.lower()
        path = fields.get("path")
        value = fields.get("value")
        if path is not None and not isinstance(path, str):
            raise invalid_path("'path' must be a string")
        if path is None or not path.strip():
            if verb == "remove":
                raise no_target_error("a remove operation needs a 'path'")
            if not isinstance(value, dict):
                raise invalid_value(f"{verb} without 'path' needs an object 'value'")
            _apply_object(kind, out, verb, value)
        else:
            _apply_path(kind, out, verb, path.strip(), value, "value" in fields)
    return out


def _apply_object(kind: ResourceKind, out: Json, verb: str, value: Json) -> None:
    for key, item in value.items():
        if not isinstance(key, str):
            raise invalid_value("attribute names must be strings")
        urn = kind.known_urn(key)
        if urn is not None and urn in kind.extensions and isinstance(item, dict):
            for sub_key, sub_item in item.items():
                _apply_path(kind, out, verb, f"{urn}:{sub_key}", sub_item, True, lenient=True)
            continue
        if key.lower() in ("schemas", "id", "meta"):
            continue  # Okta sends the id with each rename; nothing to change
        _apply_path(kind, out, verb, key, item, True, lenient=True)


def _split(path: str) -> tuple[str, str | None, str | None]:
    """`attr[filter].sub` → (attr, filter text, sub); no brackets → (path, None, None)."""
    if "[" not in path:
        return path, None, None
    start = path.index("[")
    end = path.rfind("]")
    if end < start:
        raise invalid_path(f"invalid path {path!r}: '[' is not closed")
    rest = path[end + 1 :]
    if rest and (not rest.startswith(".") or len(rest) < 2):
        raise invalid_path(f"invalid path {path!r}")
    return path[:start], path[start + 1 : end], (rest[1:] or None)


def _apply_path(
    kind: ResourceKind,
    out: Json,
    verb: str,
    path: str,
    value: Any,
    has_value: bool,
    *,
    lenient: bool = False,
) -> None:
    urn = kind.known_urn(path)
    if urn is not None and urn in kind.extensions:
        _apply_extension(kind, out, verb, urn, value)
        return
    name, filter_text, after = _split(path)
    try:
        target = resolve(kind, name)
    except Exception:  # noqa: BLE001 - any malformed path is the client's error
        raise invalid_path(f"invalid path {path!r}") from None
    if target.attr is None or (target.sub_name is not None and target.sub is None):
        if lenient:
            return  # unknown attribute in a no-path value object: ignored
        raise invalid_path(f"unknown attribute in path {path!r}")
    attr = target.attr
    if attr.mutability == "readOnly" or (target.sub and target.sub.mutability == "readOnly"):
        if lenient:
            return
        raise mutability(f"'{attr.name}' is read-only")
    host = _host(out, target, create=verb != "remove")
    if host is None:
        return
    if filter_text is not None:
        if not attr.multi or target.sub is not None:
            raise invalid_path(f"a value filter needs a multi-valued attribute: {path!r}")
        sub = attr.child(after) if after else None
        if after and sub is None:
            raise invalid_path(f"unknown sub-attribute in path {path!r}")
        flt = _parse_inner(kind, attr, filter_text, path)
        _filtered(host, attr, flt, sub, verb, value)
        return
    if verb == "remove":
        _remove(host, attr, target, value if has_value else None)
    elif value is None:
        _remove(host, attr, target, None)  # add/replace with an explicit null: unassign
    elif target.sub is not None:
        _set_sub(host, attr, target.sub, value)
    elif attr.multi:
        items = value if isinstance(value, list) else [value]
        if verb == "add":
            host[attr.name] = _merge_multi(attr, host.get(attr.name), items)
        else:
            host[attr.name] = _merge_multi(attr, None, items)
    elif (
        attr.type == "complex" and isinstance(value, dict) and isinstance(host.get(attr.name), dict)
    ):
        host[attr.name] = {**host[attr.name], **value}
    else:
        host[attr.name] = value


def _apply_extension(kind: ResourceKind, out: Json, verb: str, urn: str, value: Any) -> None:
    """The path is an extension schema itself: its whole object is the target."""
    if verb == "remove" or value is None:
        out.pop(urn, None)
        return
    if not isinstance(value, dict):
        raise invalid_value(f"{urn}: the value must be an object")
    if verb == "replace":
        out.pop(urn, None)
    for key, item in value.items():
        if isinstance(key, str):
            _apply_path(kind, out, verb, f"{urn}:{key}", item, True, lenient=True)


def _host(out: Json, target: AttrPath, *, create: bool) -> Json | None:
    if target.urn is None:
        return out
    ext = out.get(target.urn)
    if not isinstance(ext, dict):
        if not create:
            return None
        ext = out[target.urn] = {}
    return ext


def _parse_inner(kind: ResourceKind, attr: Attr, text: str, path: str) -> Filter:
    sub_kind = ResourceKind(kind.name, "", kind.schema, attr.sub)
    try:
        return parse(sub_kind, text)
    except Exception:  # noqa: BLE001 - a bad value filter in a path is invalidPath
        raise invalid_path(f"invalid value filter in path {path!r}") from None


def _key(attr: Attr, item: Any) -> Any:
    if attr.name == "members" and isinstance(item, dict):
        return ("value", item.get("value"))
    if isinstance(item, dict):
        return tuple(sorted((k, repr(v)) for k, v in item.items()))
    return repr(item)


def _merge_multi(attr: Attr, existing: Any, items: list[Any]) -> list[Any]:
    current = list(existing) if isinstance(existing, list) else []
    keys = {_key(attr, i) for i in current}
    if any(isinstance(i, dict) and i.get("primary") in (True, "True", "true") for i in items):
        for i in current:
            if isinstance(i, dict) and "primary" in i:
                i["primary"] = False
    for item in items:
        k = _key(attr, item)
        if k not in keys:
            keys.add(k)
            current.append(item)
    return current


def _set_sub(host: Json, attr: Attr, sub: Attr, value: Any) -> None:
    current = host.get(attr.name)
    if attr.multi:
        if not isinstance(current, list) or not current:
            host[attr.name] = [{sub.name: value}]
        else:
            for element in current:
                if isinstance(element, dict):
                    element[sub.name] = value
        return
    if not isinstance(current, dict):
        current = host[attr.name] = {}
    current[sub.name] = value


def _remove(host: Json, attr: Attr, target: AttrPath, value: Any) -> None:
    current = host.get(attr.name)
    if current is None:
        return
    if target.sub is not None:
        elements = current if isinstance(current, list) else [current]
        for element in elements:
            if isinstance(element, dict):
                element.pop(target.sub.name, None)
        return
    if attr.multi and value is not None and isinstance(current, list):
        wanted = value if isinstance(value, list) else [value]
        drop = {_key(attr, w) for w in wanted}
        if attr.name != "members":
            values = {w.get("value") for w in wanted if isinstance(w, dict)}
            current[:] = [
                c
                for c in current
                if _key(attr, c) not in drop
                and not (isinstance(c, dict) and c.get("value") in values)
            ]
        else:
            current[:] = [c for c in current if _key(attr, c) not in drop]
        if not current:
            host.pop(attr.name, None)
        return
    host.pop(attr.name, None)


def _filtered(host: Json, attr: Attr, flt: Filter, sub: Attr | None, verb: str, value: Any) -> None:
    current = host.get(attr.name)
    elements = current if isinstance(current, list) else []
    hit = [e for e in elements if isinstance(e, dict) and matches(flt, e)]
    if verb == "remove":
        if sub is None:
            kept = [e for e in elements if not (isinstance(e, dict) and matches(flt, e))]
            if kept:
                host[attr.name] = kept
            else:
                host.pop(attr.name, None)
        else:
            for e in hit:
                e.pop(sub.name, None)
        return
    if not hit:
        seed = _seed(flt)
        if seed is None:
            raise no_target_error(f"no value of '{attr.name}' matches the filter")
        element = dict(seed)
        if sub is not None:
            element[sub.name] = value
        elif isinstance(value, dict):
            element.update(value)
        else:
            raise invalid_value(f"'{attr.name}': the value must be an object")
        host[attr.name] = [*elements, element]
        return
    for e in hit:
        if sub is not None:
            if value is None:
                e.pop(sub.name, None)
            else:
                e[sub.name] = value
        elif isinstance(value, dict):
            e.update(value)
        else:
            raise invalid_value(f"'{attr.name}': the value must be an object")


def _seed(flt: Filter) -> Json | None:
    """`type eq "work"` → {"type": "work"}: what a new element gets when none matched."""
    if (
        isinstance(flt, Compare)
        and flt.op == "eq"
        and flt.path.attr is not None
        and isinstance(flt.value, str | bool)
    ):
        return {flt.path.attr.name: flt.value}
    return None


__all__ = ["apply", "operations", "split_urn"]
