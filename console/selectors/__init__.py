"""Reads of the operator console (dashboard, incident page, Go/No-Go report)."""

from console.selectors.dashboard import Dashboard, LevelOnCall, dashboard_for, on_call_now
from console.selectors.go_no_go import (
    GO,
    NO_GO,
    GoNoGo,
    go_no_go_report,
    period_default,
    period_from,
    recommendation_for,
)
from console.selectors.incident_page import IncidentConsole, incident_console, runbook_buttons
from core.periods import Period

__all__ = [
    "GO",
    "NO_GO",
    "Dashboard",
    "GoNoGo",
    "IncidentConsole",
    "LevelOnCall",
    "Period",
    "dashboard_for",
    "go_no_go_report",
    "incident_console",
    "on_call_now",
    "period_default",
    "period_from",
    "recommendation_for",
    "runbook_buttons",
]
