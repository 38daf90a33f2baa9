"""roster.shared: what every Roster service agrees on.

Message models and topic names, the error taxonomy, configuration, logging, metrics and
Kafka/Redis helpers. It imports no service and holds no business rules.
"""
