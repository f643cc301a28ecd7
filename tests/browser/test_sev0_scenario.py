"""The SEV0 scenario of issue 7 in real Chromium, end to end: the simulator injects a duplicate
ledger entry → the worker's detection opens a SEV0 → an operator works the runbook from the
console → an engineer records the fix and asks to resume → the operator cannot approve (and a
forged approval is refused) → the coordinator approves → the pilot runs again → post-mortem,
incident log. Screenshots of every step go to docs/screenshots/ (used by the operator guide)."""

import hashlib
import json
import re
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from core.roles import Role
from incidents.enums import Category, Severity, Status
from incidents.models import Incident
from pilot.enums import ChangeStatus
from pilot.models import ChangeRequest
from tests.browser.conftest import PASSWORD, SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

VIEWPORT = {"width": 1366, "height": 900}
ZONE = "Europe/Berlin"  # the viewer is not in UTC: times must show in their zone


def shot(page: Any, name: str, *, full: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full, animations="disabled")


def api_get(base: str, key: str, path: str) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 - the live test server
        base + path, headers={"Authorization": f"Bearer {key}", "Accept": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        data: dict[str, Any] = json.loads(response.read())
        return data


def login(browser: Any, base: str, username: str, *, screenshot: str = "") -> Any:
    context = browser.new_context(
        viewport=VIEWPORT, timezone_id=ZONE, locale="en-GB", accept_downloads=True
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(base + "/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    if screenshot:
        shot(page, screenshot)
    page.click("input[type=submit]")
    page.wait_for_url(base + "/admin/")
    return page


def confirm(page: Any) -> None:
    """Submit the confirmation page's form (the primary button of the content form)."""
    page.locator("#content form input[type=submit]").last.click()
    page.wait_for_load_state("load")


def test_sev0_from_the_feed_to_the_incident_log(
    live_server, browser, celery_worker, world, exports_location
):
    base, key = live_server.url, world["key"]
    people = world["people"]
    started = time.monotonic()

    # 1. The platform's feed carries a duplicate ledger entry; the worker's detection opens a
    #    SEV0 (one incident for the problem, the deals attached).
    call_command(
        "simulate_pilot",
        base_url=base,
        api_key=key,
        deals=8,
        seed=7,
        run_id="b7",
        inject="duplicate-ledger",
        wait_seconds=60,
    )
    incident = Incident.objects.get(category=Category.DUPLICATE_LEDGER)
    assert incident.severity == Severity.SEV0
    assert sorted(incident.affected_deals) == ["b7-dup0", "b7-dup1", "b7-dup2"]
    assert api_get(base, key, "/api/v1/pilot/config/")["enabled"] is True
    change_url = f"{base}/admin/incidents/incident/{incident.pk}/change/"

    # 2. The operator logs in (the real form) and sees the SEV0 with a ticking countdown.
    op = login(browser, base, people[Role.OPERATOR].username, screenshot="01-login")
    row = op.locator(f"tr.console-incident[data-number='{incident.number}']")
    assert "SEV0" in row.inner_text()
    countdown = row.locator("time.console-countdown")
    first = countdown.inner_text()
    op.wait_for_timeout(1500)
    second = countdown.inner_text()
    assert first != second, (first, second)
    assert re.fullmatch(r"\d\d:\d\d left", second), second
    assert "UTC" in (countdown.get_attribute("title") or "")
    local = op.locator("#console-pilot time.console-local").first
    assert "UTC" in (local.get_attribute("title") or "")
    assert "UTC" not in local.inner_text()  # shown in the viewer's zone, UTC on hover
    shot(op, "02-dashboard-sev0", full=True)

    # 3. The incident page is the runbook; acknowledge it.
    row.locator("a").first.click()
    op.wait_for_url(change_url)
    shot(op, "03-incident-runbook", full=True)
    op.click("a.incident-action-acknowledge")
    shot(op, "04-acknowledge-confirm")
    confirm(op)
    incident.refresh_from_db()
    assert incident.status == Status.ACKNOWLEDGED

    # 4. Disable the pilot (kill switch, the incident prefilled); the platform sees it at once.
    op.goto(change_url)
    op.click("a.runbook-disable_pilot")
    assert op.input_value("#id_incident") == str(incident.number)
    op.fill("#id_reason", "SEV0: duplicate ledger entries — stop new pilot deals")
    shot(op, "05-disable-pilot-confirm")
    confirm(op)
    assert api_get(base, key, "/api/v1/pilot/config/")["enabled"] is False
    op.goto(change_url)
    assert "DISABLED" in op.locator("#pilot-banner").inner_text()

    # 5. Export the affected deals' timelines; progress on the incident page; download and
    #    verify the file against the SHA-256 shown.
    op.click("a.runbook-export_timelines")
    shot(op, "06-export-confirm")
    confirm(op)
    assert "/admin/ledger_audit/timelineexport/" in op.url  # the export list, with a bar
    op.locator("#result_list td.field-progress progress").first.wait_for(state="attached")
    op.goto(change_url)
    download_link = op.locator("#incident-exports a.export-download").first
    download_link.wait_for(state="visible", timeout=60_000)  # the page polls the export API
    shown_sha = op.locator("#incident-exports code.export-sha").first.inner_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", shown_sha), shown_sha
    assert "done" in op.locator("#incident-exports .export-status").first.inner_text()
    shot(op, "07-export-done", full=True)
    with op.expect_download() as download:
        download_link.click()
    data = Path(download.value.path()).read_bytes()
    assert hashlib.sha256(data).hexdigest() == shown_sha
    assert b"b7-dup0" in data

    # 6. Review the duplicate keys (side by side) and mark them reviewed.
    op.goto(change_url)
    op.click("a.runbook-identify_idempotency_keys")
    assert "b7-dup0:hold" in op.content()
    shot(op, "08-review-keys", full=True)
    op.click("input[value='Mark keys reviewed']")
    op.wait_for_load_state("load")

    # 7. Escalate (data integrity concern → the coordinator's level).
    op.goto(change_url)
    op.click("a.incident-action-escalate")
    op.select_option("#id_criterion", "data_integrity_concern")
    shot(op, "09-escalate-confirm")
    confirm(op)
    incident.refresh_from_db()
    assert incident.escalation_level == 3

    # 8. The engineer records the fix and requests a resume.
    eng = login(browser, base, people[Role.ENGINEER].username)
    eng.goto(change_url)
    eng.fill("#id_root_cause", "The idempotency check ran after the insert on a retried hold.")
    eng.fill("#id_resolution", "Minimal patch: check the key before the insert (hotfix 1.4.2).")
    eng.locator("input[name=_continue]").click()
    eng.wait_for_load_state("load")
    eng.click("a.runbook-re_enable_pilot")
    assert eng.locator("#id_action").input_value() == "enable"
    assert eng.input_value("#id_incident") == str(incident.number)
    eng.fill("#id_reason", "Fix deployed and verified with a test deal; resume the pilot.")
    shot(eng, "10-request-resume")
    confirm(eng)
    request = ChangeRequest.objects.get(status=ChangeStatus.PENDING)

    # 9. The operator has no approve button, and a forged approval (their session, a valid
    #    CSRF token) is refused by the server.
    op.goto(base + "/admin/")
    assert op.locator("#console-awaiting a.button").count() == 0
    shot(op, "11-operator-no-approve", full=True)
    token = next(c["value"] for c in op.context.cookies() if c["name"] == "csrftoken")
    forged = op.request.post(
        f"{base}/admin/pilot/changerequest/{request.pk}/approve/",
        form={"csrfmiddlewaretoken": token},
        headers={"Referer": base + "/admin/", "X-CSRFToken": token},
        max_redirects=0,
    )
    assert forged.status == 403
    assert "CSRF" not in forged.text()  # refused for the role, not for the token
    request.refresh_from_db()
    assert request.status == ChangeStatus.PENDING
    assert api_get(base, key, "/api/v1/pilot/config/")["enabled"] is False

    # 10. The coordinator approves from the dashboard; the pilot runs again.
    coord = login(browser, base, people[Role.COORDINATOR].username)
    coord.locator("#console-awaiting a.button", has_text="Approve").click()
    shot(coord, "12-coordinator-approve")
    confirm(coord)
    assert api_get(base, key, "/api/v1/pilot/config/")["enabled"] is True
    coord.goto(base + "/admin/")
    assert "RUNNING" in coord.locator("#pilot-banner").inner_text()
    shot(coord, "13-pilot-running", full=True)

    # 11. Post-mortem, resolve, close; the incident log in the runbook's template.
    coord.goto(change_url)
    coord.fill("#id_prevention", "Idempotency tests in staging; duplicate-entry metric alert.")
    coord.fill("#id_lessons_learned", "The kill switch and the export took minutes, not hours.")
    coord.locator("input[name=_continue]").click()
    coord.wait_for_load_state("load")
    coord.click("a.incident-action-resolve")
    confirm(coord)
    coord.goto(change_url)
    coord.click("a.incident-action-close")
    confirm(coord)
    incident.refresh_from_db()
    assert incident.status == Status.CLOSED
    coord.goto(change_url)
    shot(coord, "14-incident-closed", full=True)
    with coord.expect_download() as download:
        coord.click("a.incident-log-download")
    log = Path(download.value.path()).read_text()
    assert f"## Incident #{incident.number:03d} — " in log
    assert "**Root Cause**" in log
    assert "hotfix 1.4.2" in log

    # 12. The Go/No-Go report the decision owner reads.
    coord.goto(base + "/admin/console/gonogoreport/")
    assert coord.locator("#go-no-go-recommendation").is_visible()
    shot(coord, "15-go-no-go", full=True)

    assert time.monotonic() - started < 180, "the scenario must stay under ~3 minutes"
