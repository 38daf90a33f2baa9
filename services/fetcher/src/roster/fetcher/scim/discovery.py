"""The discovery documents: `/Schemas`, `/ResourceTypes`, `/ServiceProviderConfig`."""

from __future__ import annotations

from roster.fetcher.scim.schemas import (
    ENTERPRISE,
    ENTERPRISE_ATTRS,
    GROUP,
    GROUP_ATTRS,
    GROUPS,
    RESOURCE_TYPE,
    SCHEMA,
    SPC,
    USER,
    USER_ATTRS,
    USERS,
    Attr,
    Json,
)


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
