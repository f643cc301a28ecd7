"""Play a realistic pilot against the feed API, over real HTTP (urllib, no extra dependency).

    python manage.py simulate_pilot --base-url http://127.0.0.1:8000 --api-key KEY \\
        --deals 40 --seed 7 --inject duplicate-ledger,timer-missing,dispute-ttl,stuck-deal

Deals go FUNDED → INSPECTION → RELEASED (or ISSUE → REFUNDED, or stay open) with their hold /
release / refund entries, timers and disputes — all consistent, so a clean run raises nothing.
Each ``--inject`` adds the data of one of the runbook's common incidents; times are backdated so
the detectors fire at once (no waiting for grace periods or seven days)."""

import json
import random
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

INJECTIONS = (
    "duplicate-ledger",
    "timer-missing",
    "dispute-ttl",
    "dispute-resolution-failed",
    "stuck-deal",
)
CATEGORY_OF = {
    "duplicate-ledger": "duplicate_ledger",
    "timer-missing": "timer_not_visible",
    "dispute-ttl": "dispute_stuck",
    "dispute-resolution-failed": "admin_cannot_resolve_dispute",
    "stuck-deal": "deal_stuck",
}
ENDPOINTS = ("deals", "ledger-entries", "timers", "disputes")


def iso(value: datetime) -> str:
    return value.isoformat()


class Feed:
    """Collects items per endpoint; the command sends them in batches."""

    def __init__(self) -> None:
        self.items: dict[str, list[dict[str, Any]]] = {k: [] for k in ENDPOINTS}

    def event(self, deal: str, state: str, at: datetime, version: str) -> None:
        self.items["deals"].append(
            {"deal_id": deal, "state": state, "occurred_at": iso(at), "template_version": version}
        )

    def entry(
        self, deal: str, kind: str, amount: Decimal, at: datetime, *, key: str, entry_id: str
    ) -> None:
        self.items["ledger-entries"].append(
            {
                "entry_id": entry_id,
                "deal_id": deal,
                "idempotency_key": key,
                "kind": kind,
                "amount": f"{amount:.2f}",
                "currency": "EUR",
                "created_at": iso(at),
            }
        )

    def timer(self, deal: str, timer_id: str, kind: str, expires: datetime, status: str) -> None:
        self.items["timers"].append(
            {
                "timer_id": timer_id,
                "deal_id": deal,
                "kind": kind,
                "expires_at": iso(expires),
                "status": status,
            }
        )

    def dispute(self, deal: str, dispute_id: str, opened: datetime, ttl: int, **extra: Any) -> None:
        self.items["disputes"].append(
            {
                "dispute_id": dispute_id,
                "deal_id": deal,
                "opened_at": iso(opened),
                "ttl_seconds": ttl,
                "status": extra.get("status", "open"),
                "resolution": extra.get("resolution", ""),
                "failed_resolution_attempts": extra.get("failed_resolution_attempts", []),
            }
        )


class Command(BaseCommand):
    help = "Play a pilot (deals, ledger entries, timers, disputes) through the feed API."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument("--api-key", default="", help="default: var/demo-api-key.txt")
        parser.add_argument("--deals", type=int, default=40)
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--run-id", default="", help="prefix of deal ids (default: unique)")
        parser.add_argument("--template-version", default="v1")
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--inject",
            default="",
            help="comma-separated: " + ",".join(INJECTIONS),
        )
        parser.add_argument(
            "--wait-seconds",
            type=float,
            default=0.0,
            help="then poll /api/v1/incidents/ until the injected incidents appear",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        injections = [i.strip() for i in options["inject"].split(",") if i.strip()]
        unknown = sorted(set(injections) - set(INJECTIONS))
        if unknown:
            raise CommandError(f"Unknown --inject {unknown}; choose from {', '.join(INJECTIONS)}.")
        if options["deals"] < 0 or not 1 <= options["batch_size"] <= 5000:
            raise CommandError("--deals must be >= 0 and --batch-size within 1..5000.")
        self.base = options["base_url"].rstrip("/")
        self.key = options["api_key"] or self._demo_key()
        rng = random.Random(options["seed"])  # noqa: S311 - a simulation, not security
        run = options["run_id"] or f"sim{int(time.time()):x}"
        version = options["template_version"]
        now = timezone.now()
        feed = Feed()
        deals = [f"{run}-{i:05d}" for i in range(options["deals"])]
        for deal in deals:
            self._play(feed, rng, deal, now, version)
        for name in injections:
            getattr(self, "_inject_" + name.replace("-", "_"))(feed, rng, run, deals, now, version)
        totals = {}
        for endpoint in ENDPOINTS:
            totals[endpoint] = self._send(endpoint, feed.items[endpoint], options["batch_size"])
        for endpoint, (stored, unchanged) in totals.items():
            self.stdout.write(f"  {endpoint:<15} stored {stored:>6}  unchanged {unchanged:>6}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Pilot run {run}: {len(deals)} deals played"
                + (f", injected: {', '.join(injections)}" if injections else "")
            )
        )
        if options["wait_seconds"] > 0 and injections:
            self._wait(injections, options["wait_seconds"])

    # --- a normal pilot ---------------------------------------------------------------------
    def _play(self, feed: Feed, rng: random.Random, deal: str, now: datetime, version: str) -> None:
        start = now - timedelta(minutes=rng.randint(40, 180))
        amount = Decimal(rng.randint(5000, 500000)) / 100
        feed.event(deal, "FUNDED", start, version)
        feed.entry(deal, "hold", amount, start, key=f"{deal}:hold", entry_id=f"{deal}-e1")
        roll = rng.random()
        if roll < 0.2:
            return  # recently funded, waiting for delivery
        inspect_at = start + timedelta(minutes=rng.randint(5, 20))
        feed.event(deal, "INSPECTION", inspect_at, version)
        timer_expiry = inspect_at + timedelta(hours=rng.randint(24, 72))
        if roll < 0.65:  # buyer accepts: released
            done_at = inspect_at + timedelta(minutes=rng.randint(1, 15))
            feed.timer(deal, f"{deal}-t1", "inspection", timer_expiry, "cancelled")
            feed.event(deal, "RELEASED", done_at, version)
            feed.entry(
                deal, "release", amount, done_at, key=f"{deal}:release", entry_id=f"{deal}-e2"
            )
            return
        if roll < 0.85:  # still inspecting, timer running
            feed.timer(deal, f"{deal}-t1", "inspection", timer_expiry, "running")
            return
        # buyer raises an issue: dispute with its own timer
        issue_at = inspect_at + timedelta(minutes=rng.randint(1, 10))
        feed.timer(deal, f"{deal}-t1", "inspection", timer_expiry, "cancelled")
        feed.event(deal, "ISSUE", issue_at, version)
        ttl = 48 * 3600
        if rng.random() < 0.5:
            done_at = issue_at + timedelta(minutes=rng.randint(1, 10))
            feed.dispute(deal, f"{deal}-x1", issue_at, ttl, status="resolved", resolution="refund")
            feed.timer(
                deal, f"{deal}-t2", "dispute", issue_at + timedelta(seconds=ttl), "cancelled"
            )
            feed.event(deal, "REFUNDED", done_at, version)
            feed.entry(deal, "refund", amount, done_at, key=f"{deal}:refund", entry_id=f"{deal}-e2")
        else:
            feed.dispute(deal, f"{deal}-x1", issue_at, ttl)
            feed.timer(deal, f"{deal}-t2", "dispute", issue_at + timedelta(seconds=ttl), "running")

    # --- injections -------------------------------------------------------------------------
    def _inject_duplicate_ledger(
        self, feed: Feed, rng: random.Random, run: str, deals: list[str], now: datetime, v: str
    ) -> None:
        """The idempotency check failed: a retried hold stored a second entry with the same key."""
        for n in range(3):
            deal = f"{run}-dup{n}"
            amount = Decimal(rng.randint(5000, 50000)) / 100
            at = now - timedelta(minutes=30)
            feed.event(deal, "FUNDED", at, v)
            feed.entry(deal, "hold", amount, at, key=f"{deal}:hold", entry_id=f"{deal}-e1")
            feed.entry(
                deal,
                "hold",
                amount,
                at + timedelta(seconds=2),
                key=f"{deal}:hold",
                entry_id=f"{deal}-e1-retry",
            )

    def _inject_timer_missing(
        self, feed: Feed, rng: random.Random, run: str, deals: list[str], now: datetime, v: str
    ) -> None:
        """Deals in INSPECTION whose timer was never created (backdated past the grace)."""
        for n in range(2):
            deal = f"{run}-notimer{n}"
            feed.event(deal, "FUNDED", now - timedelta(hours=2), v)
            feed.entry(
                deal,
                "hold",
                Decimal("120.00"),
                now - timedelta(hours=2),
                key=f"{deal}:hold",
                entry_id=f"{deal}-e1",
            )
            feed.event(deal, "INSPECTION", now - timedelta(hours=1), v)

    def _inject_dispute_ttl(
        self, feed: Feed, rng: random.Random, run: str, deals: list[str], now: datetime, v: str
    ) -> None:
        """A dispute whose TTL passed an hour ago and that nobody could resolve."""
        deal = f"{run}-stuckdispute"
        feed.event(deal, "FUNDED", now - timedelta(hours=4), v)
        feed.entry(
            deal,
            "hold",
            Decimal("300.00"),
            now - timedelta(hours=4),
            key=f"{deal}:hold",
            entry_id=f"{deal}-e1",
        )
        feed.event(deal, "INSPECTION", now - timedelta(hours=3), v)
        feed.timer(deal, f"{deal}-t1", "inspection", now + timedelta(hours=20), "cancelled")
        feed.event(deal, "ISSUE", now - timedelta(hours=2), v)
        feed.timer(deal, f"{deal}-t2", "dispute", now + timedelta(hours=2), "running")
        feed.dispute(deal, f"{deal}-x1", now - timedelta(hours=2), 3600)

    def _inject_dispute_resolution_failed(
        self, feed: Feed, rng: random.Random, run: str, deals: list[str], now: datetime, v: str
    ) -> None:
        """A dispute within its TTL that an admin tried to resolve twice, refused both times."""
        deal = f"{run}-unresolvable"
        feed.event(deal, "FUNDED", now - timedelta(hours=3), v)
        feed.entry(
            deal,
            "hold",
            Decimal("180.00"),
            now - timedelta(hours=3),
            key=f"{deal}:hold",
            entry_id=f"{deal}-e1",
        )
        feed.event(deal, "ISSUE", now - timedelta(hours=1), v)
        feed.timer(deal, f"{deal}-t2", "dispute", now + timedelta(days=1), "running")
        attempts = [
            {
                "attempted_at": iso(now - timedelta(minutes=minutes)),
                "error": "resolution options not offered to the admin role",
                "by": "admin",
            }
            for minutes in (40, 10)
        ]
        feed.dispute(
            deal,
            f"{deal}-x1",
            now - timedelta(hours=1),
            86400,
            failed_resolution_attempts=attempts,
        )

    def _inject_stuck_deal(
        self, feed: Feed, rng: random.Random, run: str, deals: list[str], now: datetime, v: str
    ) -> None:
        """A deal funded eight days ago that never moved."""
        deal = f"{run}-stuck"
        feed.event(deal, "FUNDED", now - timedelta(days=8), v)
        feed.entry(
            deal,
            "hold",
            Decimal("75.00"),
            now - timedelta(days=8),
            key=f"{deal}:hold",
            entry_id=f"{deal}-e1",
        )

    # --- HTTP -------------------------------------------------------------------------------
    def _demo_key(self) -> str:
        path = Path(settings.VAR_DIR) / "demo-api-key.txt"
        if not path.exists():
            raise CommandError(f"No --api-key and no {path} (run `manage.py seed_demo` first).")
        return path.read_text().strip()

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - the operator names the URL
            self.base + path,
            data=data,
            method=method,
            headers={
                "Authorization": f"Bearer {self.key}",
                "Content-Type": "application/json",
                "Accept": "application/json",
                **({"Idempotency-Key": str(uuid.uuid4())} if method == "POST" else {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:2000]
            raise CommandError(f"{method} {path} → {exc.code}: {detail}") from None
        except urllib.error.URLError as exc:
            raise CommandError(
                f"{self.base} is not answering ({exc.reason}). Is it running?"
            ) from None

    def _send(self, endpoint: str, items: list[dict[str, Any]], size: int) -> tuple[int, int]:
        stored = unchanged = 0
        for start in range(0, len(items), size):
            result = self._request("POST", f"/api/v1/feed/{endpoint}/", items[start : start + size])
            stored += int(result["stored"])
            unchanged += int(result["unchanged"])
        return stored, unchanged

    def _wait(self, injections: list[str], seconds: float) -> None:
        wanted = {CATEGORY_OF[i] for i in injections}
        deadline = time.monotonic() + seconds
        seen: dict[str, Any] = {}
        while time.monotonic() < deadline:
            page = self._request("GET", "/api/v1/incidents/?status=open&limit=100")
            for incident in page.get("results", []):
                if incident.get("category") in wanted:
                    seen[incident["category"]] = incident
            if wanted <= set(seen):
                break
            time.sleep(2)
        for category in sorted(wanted):
            incident = seen.get(category)
            if incident is None:
                self.stdout.write(self.style.WARNING(f"  no open {category} incident yet"))
            else:
                self.stdout.write(
                    f"  Incident #{incident['number']:03d} {incident['severity']} "
                    f"{incident['title']} — {len(incident.get('affected_deals', []))} deal(s)"
                )
