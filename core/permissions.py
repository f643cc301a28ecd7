"""Permission names of the access/API platform (each app names its own in its permissions.py)."""

from enum import StrEnum


class CorePerm(StrEnum):
    USE_API = "core.use_api"
    VIEW_APIKEY = "core.view_apikey"
    ADD_APIKEY = "core.add_apikey"
    REVOKE_APIKEY = "core.revoke_apikey"


# In an API view's action_permissions: any authenticated, active caller may use the action.
AUTHENTICATED = "authenticated"
