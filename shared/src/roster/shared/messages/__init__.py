"""Message models for every Roster topic (DESIGN.md §2), one module per family.

Events are past tense (facts), commands imperative. Every model is frozen, forbids extra
fields and carries the envelope of `base.Message`; `codec` turns them into Kafka records.
"""
