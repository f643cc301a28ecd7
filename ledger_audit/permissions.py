"""Permission names of the ledger-audit app (granted to roles in core/roles.py)."""

from enum import StrEnum


class LedgerPerm(StrEnum):
    PUSH_FEED = "ledger_audit.push_feed"
    REQUEST_EXPORT = "ledger_audit.add_timelineexport"
    VIEW_EXPORT = "ledger_audit.view_timelineexport"
    DOWNLOAD_EXPORT = "ledger_audit.download_timelineexport"
    REVIEW_DUPLICATE_KEYS = "ledger_audit.review_duplicate_keys"
    VIEW_FINDING = "ledger_audit.view_finding"
