"""Pure reconciliation logic: desired state, plan, convergence helpers.

Nothing here imports Kafka, Redis, HTTP, logging or a clock; inputs are values, outputs are
immutable values. Adapters load the inputs, handlers publish the outputs.
"""
