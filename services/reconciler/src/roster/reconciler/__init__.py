"""Reconciler service: turns IdP facts into the smallest set of Confluence commands.

It stores a run's IdP snapshot as it arrives, asks the writer for the Confluence state,
plans with the pure `core` and publishes the plan's commands. It never talks to an IdP or
to Confluence itself.
"""
