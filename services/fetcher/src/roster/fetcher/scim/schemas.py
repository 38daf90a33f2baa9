"""The SCIM schemas Roster serves: core User + enterprise extension, core Group.

Attribute definitions (type, mutability, returned, caseExact, uniqueness), the resource
kinds, and how an attribute path (`[urn:]attr[.sub]`, case-insensitive, extension attributes
also by bare name) resolves to them. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from roster.fetcher.scim.errors import invalid_filter

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
