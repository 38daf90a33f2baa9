"""The writer's edges: the Confluence HTTP client (REST and JSON-RPC), the shared Redis rate
limiter and the idempotency ledger. Only these modules look at HTTP status codes or Redis.
"""
