"""The platform feed: validate a whole batch, then store it in one transaction, idempotently.

Every kind follows the same shape: validate every item first (400 naming each bad item's index and
field), then inside one transaction a single SELECT of the ids already stored, a comparison of
bodies (the same id with another body → 422, nothing stored), bulk inserts/upserts, and an outbox
row (``DetectionWork``) whose detection task leaves after commit. No per-row queries.

Identity and mutability:
- deal events: (deal_id, state, occurred_at) — immutable; a deal's state is its latest event;
- ledger entries: entry_id — immutable; a changed entry is also recorded as a SEV0 finding;
- timers: timer_id — ``status`` and ``expires_at`` may change, deal and kind may not;
- disputes: dispute_id — ``status``, ``resolution`` and ``failed_resolution_attempts`` may
  change, the rest may not.
"""

from ledger_audit.feed.store import (
    feed_deal_events_ingest,
    feed_disputes_ingest,
    feed_ledger_entries_ingest,
    feed_timers_ingest,
)
from ledger_audit.feed.validation import BatchTooLarge, FeedResult, batch_items

__all__ = [
    "BatchTooLarge",
    "FeedResult",
    "batch_items",
    "feed_deal_events_ingest",
    "feed_disputes_ingest",
    "feed_ledger_entries_ingest",
    "feed_timers_ingest",
]
