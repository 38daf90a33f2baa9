"""Google Workspace Admin SDK simulator: service-account tokens, Directory users/groups/members,
users.watch push channels, Reports API admin activities.

Test equipment (DESIGN.md §8): behaves like the Admin SDK as far as a read-only sync client
can tell (idp-apis.md §3), including its paging limits, error envelope and 403 throttling.
"""

from roster.simulators.google.app import GoogleSimulator, create_app
from roster.simulators.google.config import GoogleSimConfig

__all__ = ["GoogleSimConfig", "GoogleSimulator", "create_app"]
