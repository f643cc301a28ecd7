"""The SLA clock: business calendar, deadlines, escalation rules, roster and notifications."""
