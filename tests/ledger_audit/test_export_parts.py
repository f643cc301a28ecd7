"""A worker killed while writing an export leaves its ``*.part`` file; the sweep removes it once
nobody has written to it for the configured age, and nothing else."""

import os
import time

import pytest

from ledger_audit.tasks import sweep_export_parts


def _file(path, age_seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b'{"kind":"deal"}\n')
    then = time.time() - age_seconds
    os.utime(path, (then, then))


@pytest.mark.django_db
def test_abandoned_part_files_are_swept_and_nothing_else(exports_dir, settings) -> None:
    settings.LEDGER_AUDIT_EXPORT_PART_MAX_AGE_SECONDS = 3600
    dead = exports_dir / "incident-1" / "export-7.jsonl.3f2a.part"
    dead_top = exports_dir / "export-8.jsonl.9c1d.part"
    writing = exports_dir / "incident-1" / "export-9.jsonl.77aa.part"
    done = exports_dir / "incident-1" / "export-6.jsonl"
    old_done = exports_dir / "export-5.jsonl"
    _file(dead, 2 * 3600)
    _file(dead_top, 3601)
    _file(writing, 5)
    _file(done, 2 * 3600)
    _file(old_done, 10 * 3600)

    assert sweep_export_parts() == 2
    assert not dead.exists()
    assert not dead_top.exists()
    assert writing.exists()
    assert done.exists()
    assert old_done.exists()
    assert sweep_export_parts() == 0


@pytest.mark.django_db
def test_the_sweep_is_a_beat_schedule(settings) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["ledger-audit-sweep-export-parts"]
    assert entry["task"] == "ledger_audit.tasks.sweep_export_parts"
