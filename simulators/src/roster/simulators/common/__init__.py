"""Pieces every simulator shares: fault injection and a request log.

Simulators are test equipment (DESIGN.md §8). They must behave like the real API and be
able to misbehave on purpose; this package holds the misbehaviour, not any API contract.
"""
