"""The Go/No-Go report as a Markdown document (the admin's download)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from console.selectors.go_no_go import GO, GoNoGo
from core.markdown import md_inline
from incidents.enums import Severity


def duration(seconds: float | None) -> str:
    """ "1 h 05 min", "4 min 10 s", "—" for no data."""
    if seconds is None:
        return "—"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def render_markdown(report: GoNoGo) -> str:
    p = report.pilot
    verdict = "GO" if report.recommendation == GO else "NO-GO"
    lines = [
        f"# {_('Go/No-Go report')}: {report.period.start.isoformat()} to "
        f"{report.period.end.isoformat()}",
        "",
        f"**{_('Recommendation')}**: {verdict}",
        "",
        f"{_('Rule')}: "
        + _("any open SEV0/SEV1 incident, or SLA compliance below %(t)s, means No-Go.")
        % {"t": percent(report.threshold)},
        "",
        *[f"- {md_inline(str(reason))}" for reason in report.reasons],
        "",
        f"## {_('Pilot')}",
        "",
        f"- {_('State')}: {p['state']} ({_('enabled') if p['enabled'] else _('disabled')})",
        f"- {_('Template version')}: {md_inline(p['template_version'] or '')}",
        f"- {_('Revision')}: r{p['revision']} — {p['changed_at'] or '—'}, "
        f"{md_inline(p['changed_by'] or _('system'))}: {md_inline(p['reason'] or '')}",
        f"- {_('Config changes in the period')}: {report.config_changes}",
        f"- {_('Rollbacks in the period')}: {report.rollbacks}",
        "",
        f"## {_('Incidents and SLA')}",
        "",
        f"| {_('Severity')} | {_('Opened')} | {_('Compliance')} | {_('In time / judged')} "
        f"| MTTA | MTTR |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for severity in Severity.values:
        s = report.sla["per_severity"][severity]
        lines.append(
            f"| {severity} | {report.incidents_by_severity.get(severity, 0)} | "
            f"{percent(s['compliance'])} | {s['in_time']} / {s['judged']} | "
            f"{duration(s['mtta_seconds'])} | {duration(s['mttr_seconds'])} |"
        )
    lines += [
        f"| **{_('All')}** | {sum(report.incidents_by_severity.values())} | "
        f"**{percent(report.sla['compliance'])}** | | **{duration(report.mtta_seconds)}** | "
        f"**{duration(report.mttr_seconds)}** |",
        "",
        f"- {_('Open SEV0/SEV1 incidents')}: "
        + (", ".join(f"#{n:03d}" for n in report.open_sev0_sev1) or _("none")),
        f"- {_('Open findings')}: {report.open_findings}",
        "",
        f"_{_('Generated at')} {report.generated_at.isoformat()}._",
        "",
    ]
    return "\n".join(lines)
