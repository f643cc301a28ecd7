"""Permission names of the operator console (granted to roles in ``core/roles.py``)."""

from enum import StrEnum


class ConsolePerm(StrEnum):
    # The Go/No-Go report: Pilot coordinator and Decision owner (they decide on continuation)
    # and the Auditor (read-only oversight). Operators and engineers work incidents instead.
    VIEW_GO_NO_GO = "console.view_go_no_go"
