"""Configuration sections of one area each (an IdP kind, the rules, the scheduler)."""
