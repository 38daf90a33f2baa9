"""Fetcher service: reads identity providers and publishes normalised directory facts.

One connector plug-in per IdP kind streams users, groups and memberships; the service turns
the stream into `roster.directory-events` for the reconciler. It never writes to an IdP and
never talks to Confluence.
"""
