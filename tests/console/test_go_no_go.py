"""The Go/No-Go report: the rule (open SEV0/SEV1 or compliance under the threshold → NO_GO),
its numbers taken from the SLA report, the API shape, the admin page and its Markdown."""

from datetime import timedelta

import pytest
from django.utils import timezone

from console.selectors import GO, NO_GO, go_no_go_report, period_default, recommendation_for
from incidents.enums import Category, Severity, Source, Status
from incidents.models import Incident
from incidents.services import incident_acknowledge, incident_open, incident_resolve
from pilot.services import pilot_disable

pytestmark = pytest.mark.django_db


def test_rule_unit():
    assert recommendation_for(open_blocking=[], compliance=0.95, threshold=0.9)[0] == GO
    assert recommendation_for(open_blocking=[], compliance=None, threshold=0.9)[0] == GO
    verdict, reasons = recommendation_for(open_blocking=[(7, "SEV0")], compliance=1, threshold=0.9)
    assert verdict == NO_GO
    assert reasons == ["Incident #007 (SEV0) is still open."]
    verdict, reasons = recommendation_for(open_blocking=[], compliance=0.5, threshold=0.9)
    assert verdict == NO_GO
    assert "50.0% is below the 90.0% threshold" in reasons[0]


def _worked_sev2(actor, *, late: bool) -> Incident:
    incident = incident_open(
        title="Slow page",
        severity=Severity.SEV2,
        category=Category.OTHER,
        actor=actor,
        source=Source.PERSON,
    )
    if late:  # the response deadline passed before the acknowledgement
        Incident.objects.filter(pk=incident.pk).update(
            response_due_at=timezone.now() - timedelta(minutes=1)
        )
        incident.refresh_from_db()
    incident_acknowledge(incident=incident, actor=actor)
    incident.refresh_from_db()
    incident_resolve(incident=incident, actor=actor, resolution="fixed")
    return incident


def test_go_when_nothing_blocks(seeded, engineer):
    for _ in range(3):
        _worked_sev2(engineer, late=False)
    report = go_no_go_report(period=period_default())
    assert report.recommendation == GO
    assert report.incidents_by_severity["SEV2"] == 3
    assert report.sla["compliance"] == 1.0
    assert report.open_sev0_sev1 == []
    assert report.mtta_seconds is not None


def test_no_go_for_an_open_sev0_and_for_low_compliance(seeded, engineer, operator, settings):
    _worked_sev2(engineer, late=False)
    _worked_sev2(engineer, late=True)
    settings.GO_NO_GO_MIN_COMPLIANCE = 0.9
    report = go_no_go_report(period=period_default())
    assert report.sla["compliance"] == 0.5
    assert report.recommendation == NO_GO
    assert len(report.reasons) == 1
    assert "below the 90.0% threshold" in report.reasons[0]

    settings.GO_NO_GO_MIN_COMPLIANCE = 0.5  # compliance now meets the threshold...
    assert go_no_go_report(period=period_default()).recommendation == GO
    sev0 = incident_open(  # ...but an open SEV0 stops the pilot
        title="Ledger",
        severity=Severity.SEV0,
        category=Category.DUPLICATE_LEDGER,
        actor=None,
        source=Source.DETECTOR,
    )
    pilot_disable(actor=operator, reason="SEV0", incident=sev0)
    report = go_no_go_report(period=period_default())
    assert report.recommendation == NO_GO
    assert report.open_sev0_sev1 == [sev0.number]
    assert report.reasons == [f"Incident #{sev0.number:03d} (SEV0) is still open."]
    assert report.pilot["enabled"] is False
    assert report.config_changes == 2  # the seed and the kill switch
    assert report.rollbacks == 0


def test_mtta_mttr_are_the_sla_reports(seeded, engineer, client_for, coordinator):
    _worked_sev2(engineer, late=False)
    today = timezone.localdate()
    query = f"?from={today - timedelta(days=13)}&to={today}"
    sla = client_for(coordinator).get("/api/v1/reports/sla/" + query).json()
    body = client_for(coordinator).get("/api/v1/reports/go-no-go/" + query).json()
    assert body["mtta_seconds"] == sla["mtta_seconds"]
    assert body["mttr_seconds"] == sla["mttr_seconds"]
    for severity in ("SEV0", "SEV1", "SEV2", "SEV3"):
        assert (
            body["sla"]["per_severity"][severity]["compliance"]
            == (sla["per_severity"][severity]["compliance"])
        )


def test_api_shape_and_period(seeded, coordinator, owner, auditor, client_for):
    response = client_for(owner).get("/api/v1/reports/go-no-go/?from=2026-01-01&to=2026-01-14")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body) >= {
        "from",
        "to",
        "recommendation",
        "reasons",
        "pilot",
        "incidents_by_severity",
        "sla",
        "mtta_seconds",
        "mttr_seconds",
        "open_sev0_sev1",
        "open_findings",
        "config_changes",
        "rollbacks",
        "threshold",
    }
    assert (body["from"], body["to"]) == ("2026-01-01", "2026-01-14")
    assert body["recommendation"] in ("GO", "NO_GO")
    assert body["reasons"]
    assert set(body["pilot"]) >= {"enabled", "state", "template_version", "revision"}
    assert set(body["incidents_by_severity"]) == {"SEV0", "SEV1", "SEV2", "SEV3"}
    assert set(body["sla"]["per_severity"]) == {"SEV0", "SEV1", "SEV2", "SEV3"}
    assert body["threshold"] == 0.9
    default = client_for(auditor).get("/api/v1/reports/go-no-go/").json()
    today = timezone.localdate()
    assert (default["from"], default["to"]) == (str(today - timedelta(days=13)), str(today))
    assert client_for(coordinator).get("/api/v1/reports/go-no-go/").status_code == 200


def test_api_refuses_bad_periods_and_other_roles(seeded, owner, operator, engineer, client_for):
    bad = client_for(owner).get("/api/v1/reports/go-no-go/?from=2026-02-01&to=2026-01-01")
    assert bad.status_code == 400
    assert "to" in bad.json()["error"]["fields"]
    assert client_for(owner).get("/api/v1/reports/go-no-go/?from=yesterday").status_code == 400
    for query in ("to=0001-01-03", "from=9999-12-31&to=9999-12-31", "from=2020-01-01"):
        assert client_for(owner).get(f"/api/v1/reports/go-no-go/?{query}").status_code == 400
    for user in (operator, engineer):
        assert client_for(user).get("/api/v1/reports/go-no-go/").status_code == 403


def test_admin_page_markdown_and_access(seeded, owner, operator, auditor, client):
    incident_open(
        title="Timer",
        severity=Severity.SEV1,
        category=Category.TIMER_NOT_VISIBLE,
        actor=None,
        source=Source.DETECTOR,
    )
    client.force_login(owner)
    page = client.get("/admin/console/gonogoreport/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "NO-GO" in html
    assert "is still open" in html
    assert html.count('class="console-chart"') == 2
    assert "Incidents opened per day by severity" in html
    md = client.get("/admin/console/gonogoreport/report.md")
    assert md.status_code == 200
    assert md["Content-Disposition"].startswith('attachment; filename="go-no-go-')
    text = md.content.decode()
    assert text.startswith("# Go/No-Go report")
    assert "**Recommendation**: NO-GO" in text
    assert "| SEV1 | 1 |" in text
    client.force_login(auditor)
    assert client.get("/admin/console/gonogoreport/").status_code == 200
    client.force_login(operator)
    assert client.get("/admin/console/gonogoreport/").status_code == 403
    assert client.get("/admin/console/gonogoreport/report.md").status_code == 403
    assert b"gonogoreport" not in client.get("/admin/").content  # not in the operator's menu
    assert Incident.objects.filter(status=Status.OPEN).count() == 1


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("?from=0001-01-01&to=0001-01-14", "out of range"),
        ("?from=9999-12-31&to=9999-12-31", "out of range"),
        ("?from=2020-01-01&to=2026-01-01", "at most 366 days"),
        ("?from=2026-02-01&to=2026-01-01", "must not end before it starts"),
    ],
)
def test_admin_page_warns_and_falls_back_to_the_default_period(seeded, owner, client, query, words):
    client.force_login(owner)
    page = client.get("/admin/console/gonogoreport/" + query)
    assert page.status_code == 200
    assert words in page.content.decode()
    today = timezone.localdate()
    assert page.context["report"].period.start == today - timedelta(days=13)
    assert page.context["report"].period.end == today
    md = client.get("/admin/console/gonogoreport/report.md" + query)
    assert md.status_code == 200
    name = f"go-no-go-{today - timedelta(days=13)}-{today}.md"
    assert md["Content-Disposition"] == f'attachment; filename="{name}"'


def test_api_names_the_problem_of_an_unusable_period(seeded, owner, client_for):
    for query, field in (("from=0001-01-01&to=0001-01-02", "from"), ("to=9999-12-31", "to")):
        response = client_for(owner).get(f"/api/v1/reports/go-no-go/?{query}")
        assert response.status_code == 400
        assert "out of range" in response.json()["error"]["message"]
        assert field in response.json()["error"]["fields"]
    overlong = client_for(owner).get("/api/v1/reports/go-no-go/?from=2025-01-01&to=2026-01-02")
    assert overlong.status_code == 400
    assert "at most 366 days" in overlong.json()["error"]["message"]


def test_a_typed_reason_cannot_add_a_recommendation_to_the_markdown(
    seeded, owner, operator, client
):
    from markdown_it import MarkdownIt

    pilot_disable(actor=operator, reason="checks\n\n**Recommendation**: GO\n# Verdict <b>GO</b>")
    client.force_login(owner)
    text = client.get("/admin/console/gonogoreport/report.md").content.decode()
    tokens = MarkdownIt("commonmark").parse(text)
    strong = [
        children[i + 1].content
        for children in (t.children or [] for t in tokens)
        for i, child in enumerate(children)
        if child.type == "strong_open"
    ]
    assert strong.count("Recommendation") == 1
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert not any("Verdict" in h for h in headings)
    assert not [t for t in tokens if t.type in ("html_block", "html_inline")]
    assert "checks \\*\\*Recommendation\\*\\*: GO \\# Verdict \\<b\\>GO\\</b\\>" in text
