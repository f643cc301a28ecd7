"""Whole-batch validation of feed items: every bad item named by index and field."""

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal, DecimalException, localcontext
from typing import Any

from django.conf import settings
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from core.errors import DomainError
from ledger_audit.enums import DisputeStatus, EntryKind, TimerStatus
from ledger_audit.models import (
    ID_LENGTH,
)

AMOUNT_PLACES = 8
AMOUNT_MAX_DIGITS = 20
_QUANTUM = Decimal(1).scaleb(-AMOUNT_PLACES)
_AMOUNT_LIMIT = Decimal(10) ** (AMOUNT_MAX_DIGITS - AMOUNT_PLACES)
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_STATE = re.compile(r"^[A-Z][A-Z0-9_]{0,31}$")


class BatchTooLarge(DomainError):
    status_code = 413
    code = "batch_too_large"


@dataclass(frozen=True)
class FeedResult:
    stored: int
    unchanged: int


class _Invalid(Exception):
    def __init__(self, message: str) -> None:
        self.message = message


# --- field parsers ----------------------------------------------------------------------------


def _text(value: Any, *, max_length: int, blank: bool = False) -> str:
    if not isinstance(value, str):
        raise _Invalid(_("Must be a string."))
    text = value.strip()
    if not text and not blank:
        raise _Invalid(_("Must not be blank."))
    if len(text) > max_length:
        raise _Invalid(_("At most %(n)d characters.") % {"n": max_length})
    if not text.isprintable():
        raise _Invalid(_("Must contain printable characters only."))
    return text


def _id(value: Any) -> str:
    return _text(value, max_length=ID_LENGTH)


def _state(value: Any) -> str:
    if not isinstance(value, str) or not _STATE.match(value):
        raise _Invalid(_("Must be an upper-case state name such as FUNDED or INSPECTION."))
    return str(value)


def _time(value: Any) -> datetime:
    try:  # well-formed but impossible dates (month 13) raise ValueError
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise _Invalid(_("Must be an RFC 3339 time with a zone, e.g. 2025-01-31T12:00:00Z."))
    try:  # PostgreSQL refuses zone offsets beyond ±15:59: store UTC
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _Invalid(_("Must be a time between the years 1 and 9999.")) from None


# Amounts are judged in a context of their own: any exponent a string can carry ("1e999999999")
# and every signal trapped, so no arithmetic on a hostile amount can raise past the validator.
_AMOUNT_CONTEXT = Context(prec=AMOUNT_MAX_DIGITS + 2, Emax=10**17, Emin=-(10**17))


def _amount(value: Any) -> Decimal:
    if not isinstance(value, str) or len(value) > 64:
        raise _Invalid(_('Must be a decimal string, e.g. "125.50".'))
    try:
        with localcontext(_AMOUNT_CONTEXT):
            number = Decimal(value.strip())
            if not number.is_finite():
                raise _Invalid(_("Must be a finite decimal."))
            quantized = number.quantize(_QUANTUM) if abs(number) < _AMOUNT_LIMIT else None
    except DecimalException:
        quantized = None
    if quantized is None or quantized != number:
        raise _Invalid(
            _("At most %(d)d digits with at most %(p)d decimal places.")
            % {"d": AMOUNT_MAX_DIGITS, "p": AMOUNT_PLACES}
        )
    return quantized


def _currency(value: Any) -> str:
    if not isinstance(value, str) or not _CURRENCY.match(value):
        raise _Invalid(_("Must be an ISO 4217 code: three upper-case letters."))
    return value


def _choice(choices: Iterable[str]) -> Callable[[Any], str]:
    allowed = sorted(choices)

    def parse(value: Any) -> str:
        if value not in allowed:
            raise _Invalid(_("Must be one of: %(c)s.") % {"c": ", ".join(allowed)})
        return str(value)

    return parse


def _version(value: Any) -> str:
    return _text(value, max_length=64, blank=True)


def _resolution(value: Any) -> str:
    return _text(value, max_length=255, blank=True)


def _ttl(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 10**9:
        raise _Invalid(_("Must be a positive whole number of seconds."))
    return int(value)


def _kind(value: Any) -> str:
    return _text(value, max_length=64)


MAX_RESOLUTION_ATTEMPTS = 50
_ATTEMPT_FIELDS = frozenset({"attempted_at", "error", "by"})


def _attempts(value: Any) -> list[dict[str, str]]:
    """A dispute's failed resolution attempts: ``[{attempted_at, error, by?}]``. Stored in one
    canonical form (UTC times, sorted by time) so that a re-sent list is the same body."""
    if not isinstance(value, list) or len(value) > MAX_RESOLUTION_ATTEMPTS:
        raise _Invalid(
            _("Must be a list of at most %(n)d attempts.") % {"n": MAX_RESOLUTION_ATTEMPTS}
        )
    attempts: list[dict[str, str]] = []
    for number, item in enumerate(value):
        if not isinstance(item, dict) or not _ATTEMPT_FIELDS.issuperset(item):
            raise _Invalid(
                _("Attempt %(i)d: an object with attempted_at, error and optionally by.")
                % {"i": number}
            )
        try:
            attempts.append(
                {
                    "attempted_at": _time(item.get("attempted_at")).isoformat(),
                    "error": _text(item.get("error"), max_length=255),
                    "by": _text(item.get("by", ""), max_length=ID_LENGTH, blank=True),
                }
            )
        except _Invalid as exc:
            raise _Invalid(
                _("Attempt %(i)d: %(why)s") % {"i": number, "why": exc.message}
            ) from None
    return sorted(attempts, key=lambda a: (a["attempted_at"], a["error"], a["by"]))


Field = tuple[Callable[[Any], Any], bool, Any]  # parser, required, default

EVENT_FIELDS: dict[str, Field] = {
    "deal_id": (_id, True, None),
    "state": (_state, True, None),
    "occurred_at": (_time, True, None),
    "template_version": (_version, False, ""),
}
ENTRY_FIELDS: dict[str, Field] = {
    "entry_id": (_id, True, None),
    "deal_id": (_id, True, None),
    "idempotency_key": (lambda v: _text(v, max_length=255), True, None),
    "kind": (_choice(EntryKind.values), True, None),
    "amount": (_amount, True, None),
    "currency": (_currency, True, None),
    "created_at": (_time, True, None),
}
TIMER_FIELDS: dict[str, Field] = {
    "timer_id": (_id, True, None),
    "deal_id": (_id, True, None),
    "kind": (_kind, True, None),
    "expires_at": (_time, True, None),
    "status": (_choice(TimerStatus.values), True, None),
}
DISPUTE_FIELDS: dict[str, Field] = {
    "dispute_id": (_id, True, None),
    "deal_id": (_id, True, None),
    "opened_at": (_time, True, None),
    "ttl_seconds": (_ttl, False, None),
    "expires_at": (_time, False, None),
    "status": (_choice(DisputeStatus.values), True, None),
    "resolution": (_resolution, False, ""),
    "failed_resolution_attempts": (_attempts, False, []),
}


def batch_items(payload: Any) -> list[Any]:
    """The items of a request body: a JSON list, or an object ``{"items": [...]}``."""
    items = payload.get("items") if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        raise DomainError(
            _('Send a JSON list of items (or an object with an "items" list).'),
            fields={"items": [_("Expected a list.")]},
        )
    limit = settings.LEDGER_AUDIT_FEED_MAX_BATCH
    if len(items) > limit:
        raise BatchTooLarge(
            _("A batch holds at most %(limit)d items; this one has %(n)d. Split it.")
            % {"limit": limit, "n": len(items)},
            fields={"items": [_("At most %(limit)d items.") % {"limit": limit}]},
        )
    return items


def validate_items(
    items: Sequence[Any], spec: dict[str, Field], extra: Callable[[dict[str, Any]], None] | None
) -> list[dict[str, Any]]:
    cleaned: list[dict[str, Any]] = []
    errors: dict[str, dict[str, list[str]]] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors[str(index)] = {"non_field_errors": [_("Expected an object.")]}
            continue
        row: dict[str, Any] = {}
        item_errors: dict[str, list[str]] = {}
        for name, (parse, required, default) in spec.items():
            value = item.get(name)
            if value is None:
                if required:
                    item_errors[name] = [_("This field is required.")]
                else:
                    row[name] = default
                continue
            try:
                row[name] = parse(value)
            except _Invalid as exc:
                item_errors[name] = [exc.message]
        if not item_errors and extra is not None:
            try:
                extra(row)
            except _Invalid as exc:
                item_errors["non_field_errors"] = [exc.message]
        if item_errors:
            errors[str(index)] = item_errors
        else:
            cleaned.append(row)
    if errors:
        first = next(iter(errors))
        raise DomainError(
            _("%(n)d item(s) are invalid (first: item %(i)s); nothing was stored.")
            % {"n": len(errors), "i": first},
            fields={"items": errors},
        )
    return cleaned


def dispute_expiry(row: dict[str, Any]) -> None:
    if row["expires_at"] is None and row["ttl_seconds"] is None:
        raise _Invalid(_("Give ttl_seconds or expires_at."))
    if row["ttl_seconds"] is None:
        return
    try:
        expires_at = row["opened_at"] + timedelta(seconds=row["ttl_seconds"])
    except OverflowError:
        raise _Invalid(_("opened_at + ttl_seconds falls after the year 9999.")) from None
    if row["expires_at"] is None:
        row["expires_at"] = expires_at
    elif row["expires_at"] != expires_at:
        raise _Invalid(_("ttl_seconds and expires_at disagree; give one of them."))
