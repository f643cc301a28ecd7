"""``/healthz/`` check of the SLA sweep's heartbeat (registered from ``IncidentsConfig.ready``):
a dead beat must not silently stop the SLA clock."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

MISSED_INTERVALS = 3


def check_sla_sweep() -> str:
    from incidents.models import SweepHeartbeat

    try:
        beat = SweepHeartbeat.objects.filter(pk=1).values_list("last_finished_at", flat=True)
        last = beat.first()
    except Exception as exc:
        return f"error: {exc.__class__.__name__}"
    if last is None:
        return "error: the SLA sweep has never run (is celery beat running?)"
    interval = int(settings.SLA_SWEEP_SECONDS)
    age = timezone.now() - last
    if age > timedelta(seconds=MISSED_INTERVALS * interval):
        return f"error: the SLA sweep last ran {int(age.total_seconds())} s ago"
    return "ok"
