"""IdP connector plug-ins: one module per IdP kind behind the `Connector` protocol.

Connectors are the fetcher's adapters: they speak an IdP's HTTP API, turn its status codes into
`roster.shared.errors`, and stream normalised records. They never publish to Kafka.
"""
