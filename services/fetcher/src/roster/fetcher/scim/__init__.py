"""Inbound SCIM 2.0 (RFC 7643/7644) for directories of kind `scim`: the IdP pushes to us.

`schemas` (attribute definitions, validation, discovery documents), `filter` (the RFC
filter grammar on stored JSON), `patch` (PATCH operations incl. the Entra/Okta quirks),
`store` (Redis, atomic uniqueness, change stream), `history` (request outcomes per hour),
`routes` (the HTTP face), `batcher` (accepted changes → one delta run every ~0.5 s).
"""
