"""Redis stores of the reconciler: run snapshots, run markers and the link table.

Only this package talks to Redis; it turns stored JSON into core values and back.
"""
