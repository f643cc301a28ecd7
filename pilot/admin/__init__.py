"""The pilot switchboard in the operator console. Every consequential act goes through a
confirmation page and the same service as the API (which checks permissions and four eyes)."""

from pilot.admin import catalog, change_requests, revisions

__all__ = ["catalog", "change_requests", "revisions"]
