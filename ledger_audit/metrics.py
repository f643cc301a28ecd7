"""The ledger audit app's part of ``/metrics`` (the registry and where counts live:
``core.metrics``).

Feed items are counted per batch by the ingest service of each kind (``counted_feed``): stored
(new or changed rows), unchanged (already stored identically), refused (the batch was refused:
invalid, or a stored id sent with another body — nothing of it was stored). Findings opened are
counted by detector when the detection service creates them. Both are counted after their
transaction commits, so a rolled-back batch is not an event.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from core.errors import DomainError
from core.metrics import EventCounter

FEED_ITEMS = EventCounter(
    "pcp_feed_items_total",
    "Feed items received, by kind and what became of them (stored, unchanged, refused).",
    ["kind", "result"],
)
FINDINGS_OPENED = EventCounter(
    "pcp_findings_opened_total",
    "Findings the detectors opened, by detector.",
    ["detector"],
)

ResultT = TypeVar("ResultT")


def counted_feed(
    kind: str,
) -> Callable[[Callable[..., ResultT]], Callable[..., ResultT]]:
    """Count a feed ingest service's items by outcome (it returns a ``FeedResult``)."""

    def wrap(ingest: Callable[..., ResultT]) -> Callable[..., ResultT]:
        @functools.wraps(ingest)
        def counted(*, items: Sequence[Any], **kwargs: Any) -> ResultT:
            try:
                result = ingest(items=items, **kwargs)
            except DomainError:
                FEED_ITEMS.count(len(items), kind=kind, result="refused")
                raise
            FEED_ITEMS.count(getattr(result, "stored", 0), kind=kind, result="stored")
            FEED_ITEMS.count(getattr(result, "unchanged", 0), kind=kind, result="unchanged")
            return result

        return counted

    return wrap
