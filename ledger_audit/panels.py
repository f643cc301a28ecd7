"""ledger_audit's parts of the incident page: the timeline exports with their progress, and the
blast radius. Registered into incidents' page hook from LedgerAuditConfig.ready()."""

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse

from incidents.models import Incident
from incidents.panels import CHECKLIST_ORDER, register_panel
from incidents.selectors import incident_runbook_live
from ledger_audit.models import TimelineExport
from ledger_audit.permissions import LedgerPerm
from ledger_audit.selectors import BlastRadius, exports_for_incident, incident_blast_radius

EXPORTS_SHOWN = 10


@dataclass(frozen=True)
class ExportsPanel:
    exports: list[TimelineExport]
    can_export: bool
    can_download: bool
    export_url: str


def exports_panel(*, incident: Incident, user: Any) -> ExportsPanel:
    """The newest exports of the incident (one query) and what this viewer may do with them."""
    request_url = reverse("admin:ledger_audit_timelineexport_request")
    return ExportsPanel(
        exports=list(exports_for_incident(incident=incident).order_by("-id")[:EXPORTS_SHOWN]),
        # An export is a runbook act: offered while the incident's runbook is live.
        can_export=bool(
            user.has_perm(LedgerPerm.REQUEST_EXPORT) and incident_runbook_live(incident)
        ),
        can_download=bool(user.has_perm(LedgerPerm.DOWNLOAD_EXPORT)),
        export_url=f"{request_url}?{urlencode({'incident': incident.number})}",
    )


def blast_radius_panel(*, incident: Incident, user: Any) -> BlastRadius:
    """Everyone who sees the incident sees what it touches (two aggregate queries)."""
    return incident_blast_radius(incident=incident)


def register() -> None:
    register_panel(
        name="ledger_audit.exports",
        template="admin/ledger_audit/incident_exports.html",
        context=exports_panel,
        order=CHECKLIST_ORDER + 10,
    )
    register_panel(
        name="ledger_audit.blast_radius",
        template="admin/ledger_audit/incident_blast_radius.html",
        context=blast_radius_panel,
        order=CHECKLIST_ORDER + 20,
    )
