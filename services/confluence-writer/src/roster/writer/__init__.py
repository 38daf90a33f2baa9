"""confluence-writer: the only Roster service that talks to Confluence Data Center.

It executes the reconciler's commands (REST where the server has it, JSON-RPC where it does
not) under one rate limit shared by all replicas, answers snapshot requests, and publishes one
result per command id. It plans nothing: what to change is decided upstream.
"""
