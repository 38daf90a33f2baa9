"""Pure decisions of the writer: versions, desired-state checks, results, pages, pacing.

Nothing here does I/O, reads a clock or logs; adapters and the executor call these functions.
"""
