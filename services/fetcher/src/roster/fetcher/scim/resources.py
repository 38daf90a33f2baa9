"""Resources in and out: what a client sent → stored attributes, stored → response.

In: names canonical, URN keys and extension objects accepted, `"False"` → false, nulls
dropped, readOnly ignored, `password` never stored, required attributes checked.
Out: `attributes` / `excludedAttributes` (RFC 7644 §3.9). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from roster.fetcher.scim.errors import invalid_value
from roster.fetcher.scim.schemas import (
    GROUPS,
    Attr,
    AttrPath,
    Json,
    ResourceKind,
    resolve,
    split_urn,
)


def _bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise invalid_value(f"{where}: expected a boolean, got {value!r}")


def coerce(attr: Attr, value: Any, where: str) -> Any:
    """One attribute value as the schema wants it; None means "no value" (dropped)."""
    if value is None:
        return None
    if attr.multi:
        items = value if isinstance(value, list) else [value]
        out = [coerce_single(attr, v, f"{where}[{i}]") for i, v in enumerate(items)]
        kept = [v for v in out if v is not None and v != {}]
        return kept or None
    return coerce_single(attr, value, where)


def coerce_single(attr: Attr, value: Any, where: str) -> Any:
    if value is None:
        return None
    kind = attr.type
    if kind == "complex":
        if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
            value = value[0]  # Entra sends the single-valued manager as a one-item list
        if not isinstance(value, dict):
            raise invalid_value(f"{where}: expected an object, got {type(value).__name__}")
        out: Json = {}
        for key, sub_value in value.items():
            if not isinstance(key, str):
                raise invalid_value(f"{where}: attribute names must be strings")
            sub = attr.child(key)
            if sub is None or (sub.mutability == "readOnly" and attr.mutability != "readOnly"):
                continue
            coerced = coerce_single(sub, sub_value, f"{where}.{sub.name}")
            if coerced is not None:
                out[sub.name] = coerced
        return out
    if kind == "boolean":
        return _bool(value, where)
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid_value(f"{where}: expected an integer, got {value!r}")
        return value
    if kind == "decimal":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise invalid_value(f"{where}: expected a number, got {value!r}")
        return value
    # string, reference, dateTime, binary
    if isinstance(value, bool | dict | list):
        raise invalid_value(f"{where}: expected a string, got {type(value).__name__}")
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str):
        raise invalid_value(f"{where}: expected a string")
    if "\x00" in value:
        raise invalid_value(f"{where}: NUL characters are not allowed")
    return value


def normalise(kind: ResourceKind, body: Any) -> Json:
    """A resource as a client sent it → the stored attributes (no id, meta or schemas).

    Attribute names match case-insensitively and come out canonical; URN-prefixed names
    and extension objects are accepted; readOnly attributes are ignored; `password` and
    unknown attributes are dropped; explicit nulls mean "no value"; required attributes
    must be there.
    """
    if not isinstance(body, dict):
        raise invalid_value("the request body must be a JSON object")
    out: Json = {}
    for key, value in body.items():
        if not isinstance(key, str):
            raise invalid_value("attribute names must be strings")
        if key.lower() == "schemas":
            continue
        urn = kind.known_urn(key)
        if urn is not None and urn != kind.schema:
            if value is None:
                continue
            if not isinstance(value, dict):
                raise invalid_value(f"{urn}: expected an object")
            ext = _extension(kind, urn, value)
            if ext:
                out.setdefault(urn, {}).update(ext)
            continue
        if urn == kind.schema:
            continue
        if key.lower().startswith("urn:") or key.lower().startswith("http"):
            ext_urn, rest = split_urn(kind, key)
            if rest == key:
                continue  # an unknown schema (e.g. Entra's ADSCIM group): tolerated
            attr = kind.attr(ext_urn, rest)
            if attr is None:
                continue
            coerced = _writable(attr, value, key)
            if coerced is not None:
                if ext_urn is None:
                    out[attr.name] = coerced
                else:
                    out.setdefault(ext_urn, {})[attr.name] = coerced
            continue
        attr = kind.attr(None, key)
        if attr is None:
            continue
        coerced = _writable(attr, value, attr.name)
        if coerced is not None:
            out[attr.name] = coerced
    for attr in kind.attrs:
        if attr.required and attr.name not in out:
            raise invalid_value(f"'{attr.name}' is required")
        if attr.required and isinstance(out[attr.name], str) and not out[attr.name].strip():
            raise invalid_value(f"'{attr.name}' must not be empty")
    for attr in kind.attrs:
        if attr.multi and attr.type == "complex" and attr.name in out:
            primaries = [v for v in out[attr.name] if v.get("primary") is True]
            if len(primaries) > 1:
                raise invalid_value(f"'{attr.name}': at most one value may be primary")
    if kind is GROUPS and "members" in out:
        out["members"] = _unique_members(out["members"])
    return out


def _unique_members(members: list[Json]) -> list[Json]:
    seen: set[str] = set()
    kept: list[Json] = []
    for m in members:
        value = m.get("value")
        if not isinstance(value, str) or not value:
            raise invalid_value("members: every member needs a 'value'")
        if value not in seen:
            seen.add(value)
            kept.append(m)
    return kept


def _writable(attr: Attr, value: Any, where: str) -> Any:
    if attr.mutability == "readOnly" or attr.name == "password":
        return None  # ignored on input; a password is accepted and never stored
    if attr.name == "externalId" and value is not None and not isinstance(value, str):
        raise invalid_value("externalId: expected a string")
    return coerce(attr, value, where)


def _extension(kind: ResourceKind, urn: str, value: Json) -> Json:
    out: Json = {}
    for key, sub_value in value.items():
        if not isinstance(key, str):
            raise invalid_value(f"{urn}: attribute names must be strings")
        attr = kind.attr(urn, key)
        if attr is None:
            continue
        coerced = _writable(attr, sub_value, f"{urn}:{attr.name}")
        if coerced is not None:
            out[attr.name] = coerced
    return out


# -- output: attribute selection ------------------------------------------------------


def project(
    kind: ResourceKind,
    resource: Json,
    attributes: Iterable[str] = (),
    excluded: Iterable[str] = (),
) -> Json:
    """The resource as a response returns it (RFC 7644 §3.9 `attributes` / `excludedAttributes`).

    `id` and `schemas` (and attributes returned "always") are always there; `password`
    never. With `attributes`, only the named attributes (a sub-attribute of a single
    complex attribute picks that sub-attribute); with `excludedAttributes`, all but those.
    """
    wanted = [p for p in (resolve(kind, a) for a in attributes if a) if p.attr is not None]
    dropped = [p for p in (resolve(kind, a) for a in excluded if a) if p.attr is not None]
    out: Json = {}
    for key, value in resource.items():
        if key in ("schemas", "id"):
            out[key] = value
        elif key in kind.extensions and isinstance(value, dict):
            kept = {
                k: v
                for k, v in value.items()
                if (a := kind.attr(key, k)) is not None and _keep(a, key, wanted, dropped)
            }
            if kept:
                out[key] = kept
        elif (attr := kind.attr(None, key)) is not None and _keep(attr, None, wanted, dropped):
            subs = [p.sub for p in wanted if p.attr is attr and p.urn is None]
            if (
                wanted
                and attr.returned != "always"
                and subs
                and None not in subs
                and not attr.multi
                and isinstance(value, dict)
            ):
                names = {s.name for s in subs if s is not None}
                picked = {k: v for k, v in value.items() if k in names}
                if picked:
                    out[key] = picked
            else:
                out[key] = value
    return out


def _keep(attr: Attr, urn: str | None, wanted: list[AttrPath], dropped: list[AttrPath]) -> bool:
    if attr.returned == "never":
        return False
    if attr.returned == "always":
        return True
    if wanted:
        return any(p.attr is attr and p.urn == urn for p in wanted)
    if attr.returned == "request":
        return False
    return not any(p.attr is attr and p.urn == urn and p.sub is None for p in dropped)
