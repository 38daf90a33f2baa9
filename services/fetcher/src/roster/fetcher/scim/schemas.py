"""The SCIM schemas Roster serves (core User + enterprise extension, core Group), and what
they decide: attribute names (case-insensitive in, canonical out), types and coercion
(`"False"` → false), mutability (readOnly ignored on input, `password` accepted and never
stored), required attributes, case-exactness for filters, and which attributes a response
returns (`attributes` / `excludedAttributes`).

Pure: no I/O. Resources are plain JSON dicts as sent, with canonical attribute names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from roster.fetcher.scim.errors import invalid_filter, invalid_value

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
MS_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SPC = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"

Json = dict[str, Any]


@dataclass(frozen=True)
class Attr:
    name: str
    type: str = "string"
    multi: bool = False
    required: bool = False
    case_exact: bool = False
    mutability: str = "readWrite"
    returned: str = "default"
    uniqueness: str = "none"
    sub: tuple[Attr, ...] = ()
    canonical: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    description: str = ""

    def child(self, name: str) -> Attr | None:
        low = name.lower()
        return next((a for a in self.sub if a.name.lower() == low), None)

    def definition(self) -> Json:
        out: Json = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi,
            "description": self.description or self.name,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": self.mutability,
            "returned": self.returned,
            "uniqueness": self.uniqueness,
        }
        if self.sub:
            out["subAttributes"] = [a.definition() for a in self.sub]
        if self.canonical:
            out["canonicalValues"] = list(self.canonical)
        if self.reference_types:
            out["referenceTypes"] = list(self.reference_types)
        return out


def _multi(name: str, *extra: Attr, types: tuple[str, ...] = ()) -> Attr:
    """A multi-valued complex attribute with the usual value/display/type/primary."""
    subs = (
        Attr("value"),
        Attr("display"),
        Attr("type", canonical=types),
        Attr("primary", type="boolean"),
        *extra,
    )
    return Attr(name, type="complex", multi=True, sub=subs)


NAME = Attr(
    "name",
    type="complex",
    sub=tuple(
        Attr(n)
        for n in (
            "formatted",
            "familyName",
            "givenName",
            "middleName",
            "honorificPrefix",
            "honorificSuffix",
        )
    ),
)
ADDRESS = Attr(
    "addresses",
    type="complex",
    multi=True,
    sub=(
        *(
            Attr(n)
            for n in ("formatted", "streetAddress", "locality", "region", "postalCode", "country")
        ),
        Attr("type", canonical=("work", "home", "other")),
        Attr("primary", type="boolean"),
    ),
)
REF_SUBS = (
    Attr("value", mutability="immutable"),
    Attr("$ref", type="reference", mutability="immutable", reference_types=("User", "Group")),
    Attr("display", mutability="immutable"),
    Attr("type", mutability="immutable", canonical=("User", "Group")),
)
COMMON = (
    Attr("id", case_exact=True, mutability="readOnly", returned="always", uniqueness="server"),
    Attr("externalId", case_exact=True),
    Attr(
        "meta",
        type="complex",
        mutability="readOnly",
        sub=(
            Attr("resourceType", case_exact=True, mutability="readOnly"),
            Attr("created", type="dateTime", mutability="readOnly"),
            Attr("lastModified", type="dateTime", mutability="readOnly"),
            Attr("location", type="reference", mutability="readOnly", reference_types=("uri",)),
            Attr("version", case_exact=True, mutability="readOnly"),
        ),
    ),
)
USER_ATTRS = (
    Attr("userName", required=True, uniqueness="server", returned="always"),
    NAME,
    Attr("displayName"),
    Attr("nickName"),
    Attr("profileUrl", type="reference", reference_types=("external",)),
    Attr("title"),
    Attr("userType"),
    Attr("preferredLanguage"),
    Attr("locale"),
    Attr("timezone"),
    Attr("active", type="boolean"),
    Attr("password", mutability="writeOnly", returned="never"),
    _multi("emails", types=("work", "home", "other")),
    _multi("phoneNumbers", types=("work", "home", "mobile", "fax", "pager", "other")),
    _multi("ims"),
    _multi("photos", types=("photo", "thumbnail")),
    ADDRESS,
    Attr(
        "groups",
        type="complex",
        multi=True,
        mutability="readOnly",
        sub=(
            Attr("value", mutability="readOnly"),
            Attr("$ref", type="reference", mutability="readOnly", reference_types=("Group",)),
            Attr("display", mutability="readOnly"),
            Attr("type", mutability="readOnly", canonical=("direct", "indirect")),
        ),
    ),
    _multi("entitlements"),
    _multi("roles"),
    _multi("x509Certificates"),
)
ENTERPRISE_ATTRS = (
    Attr("employeeNumber"),
    Attr("costCenter"),
    Attr("organization"),
    Attr("division"),
    Attr("department"),
    Attr(
        "manager",
        type="complex",
        sub=(
            Attr("value"),
            Attr("$ref", type="reference", reference_types=("User",)),
            Attr("displayName", mutability="readOnly"),
        ),
    ),
)
GROUP_ATTRS = (
    Attr("displayName", required=True, uniqueness="server", returned="always"),
    Attr("members", type="complex", multi=True, sub=REF_SUBS),
)


@dataclass(frozen=True)
class ResourceKind:
    name: str
    endpoint: str
    schema: str
    attrs: tuple[Attr, ...]
    extensions: Mapping[str, tuple[Attr, ...]] = field(default_factory=dict)
    tolerated: tuple[str, ...] = ()
    """Schema URNs clients send that are accepted and ignored (Entra's ADSCIM group)."""
    unique: str = "userName"
    """The attribute that must be unique, case-insensitively."""

    def attr(self, urn: str | None, name: str) -> Attr | None:
        low = name.lower()
        pool = self.attrs if urn is None else self.extensions.get(urn, ())
        found = next((a for a in pool if a.name.lower() == low), None)
        if found is None and urn is None:
            found = next((a for a in COMMON if a.name.lower() == low), None)
        return found

    def in_extension(self, name: str) -> tuple[str | None, Attr | None]:
        """An extension attribute named without its URN (Entra's `manager` path)."""
        for urn in self.extensions:
            attr = self.attr(urn, name)
            if attr is not None:
                return urn, attr
        return None, None

    def known_urn(self, text: str) -> str | None:
        low = text.lower()
        for urn in (self.schema, *self.extensions):
            if urn.lower() == low:
                return urn
        return None


USERS = ResourceKind("User", "/Users", USER, USER_ATTRS, {ENTERPRISE: ENTERPRISE_ATTRS})
GROUPS = ResourceKind(
    "Group", "/Groups", GROUP, GROUP_ATTRS, tolerated=(MS_GROUP,), unique="displayName"
)
KINDS = {"Users": USERS, "Groups": GROUPS}


@dataclass(frozen=True)
class AttrPath:
    """`[urn:]attr[.sub]` resolved against a resource kind (None attr = unknown name)."""

    urn: str | None
    attr: Attr | None
    sub: Attr | None = None
    sub_name: str | None = None
    raw: str = ""


def split_urn(kind: ResourceKind, text: str) -> tuple[str | None, str]:
    """`urn:…:User:name.givenName` → (schema URN or None for core, `name.givenName`)."""
    low = text.lower()
    for urn in (*kind.extensions, kind.schema):
        if low.startswith(urn.lower() + ":"):
            rest = text[len(urn) + 1 :]
            return (None if urn == kind.schema else urn), rest
    return None, text


def resolve(kind: ResourceKind, text: str) -> AttrPath:
    """Resolve an attribute path; unknown names give `attr=None`, malformed ones raise."""
    if not text or any(c.isspace() for c in text):
        raise invalid_filter(f"invalid attribute path {text!r}")
    urn, rest = split_urn(kind, text)
    if not rest:
        raise invalid_filter(f"invalid attribute path {text!r}")
    name, _, sub_name = rest.partition(".")
    if not name or (_ and not sub_name) or "." in sub_name:
        raise invalid_filter(f"invalid attribute path {text!r}")
    attr = kind.attr(urn, name)
    if attr is None and urn is None:
        urn, attr = kind.in_extension(name)
    sub = attr.child(sub_name) if attr is not None and sub_name else None
    return AttrPath(urn, attr, sub, sub_name or None, text)


# -- input: validate and coerce ------------------------------------------------------


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


# -- discovery documents --------------------------------------------------------------


def schema_document(urn: str, name: str, attrs: tuple[Attr, ...], base: str) -> Json:
    return {
        "schemas": [SCHEMA],
        "id": urn,
        "name": name,
        "description": f"{name} schema",
        "attributes": [a.definition() for a in attrs],
        "meta": {"resourceType": "Schema", "location": f"{base}/Schemas/{urn}"},
    }


def schema_documents(base: str) -> list[Json]:
    return [
        schema_document(USER, "User", USER_ATTRS, base),
        schema_document(ENTERPRISE, "EnterpriseUser", ENTERPRISE_ATTRS, base),
        schema_document(GROUP, "Group", GROUP_ATTRS, base),
    ]


def resource_types(base: str) -> list[Json]:
    out = []
    for kind in (USERS, GROUPS):
        out.append(
            {
                "schemas": [RESOURCE_TYPE],
                "id": kind.name,
                "name": kind.name,
                "endpoint": kind.endpoint,
                "description": f"{kind.name} resources",
                "schema": kind.schema,
                "schemaExtensions": [{"schema": urn, "required": False} for urn in kind.extensions],
                "meta": {
                    "resourceType": "ResourceType",
                    "location": f"{base}/ResourceTypes/{kind.name}",
                },
            }
        )
    return out


def service_provider_config(base: str, max_results: int) -> Json:
    return {
        "schemas": [SPC],
        "documentationUri": "https://github.com/roster/roster/blob/main/docs/scim.md",
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": max_results},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": False},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "A long-lived bearer token configured for the directory",
                "primary": True,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{base}/ServiceProviderConfig",
        },
    }
