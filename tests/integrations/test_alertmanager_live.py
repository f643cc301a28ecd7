"""A real Alertmanager (Debian's ``prometheus-alertmanager``) delivering to the running app
(``live_server``) with the monitoring role's key, alerts fired and resolved with ``amtool``.

``scripts/ensure-alertmanager.sh`` (run by ``make test``) installs the package when missing."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.roles import Role
from core.services import api_key_create, roles_bootstrap, service_account_for_role
from incidents.enums import Source, Status, TimelineKind
from incidents.models import Incident, IncidentAlert
from tests.procs import free_port, spawn, stop, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

INSTALL = "scripts/ensure-alertmanager.sh (apt-get install prometheus-alertmanager)"


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise AssertionError(f"{' or '.join(names)} is missing: run {INSTALL}")


@dataclass
class Alertmanager:
    url: str
    amtool: str
    log: Path

    def amtool_run(self, *args: str) -> str:
        done = subprocess.run(
            [self.amtool, *args, f"--alertmanager.url={self.url}"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert done.returncode == 0, done.stderr + done.stdout
        return done.stdout

    def fire(self, *labels: str, start: datetime, end: datetime | None = None) -> None:
        args = ["alert", "add", *labels, "--annotation=summary=Ledger lag over 5 minutes"]
        args.append(f"--start={start.isoformat().replace('+00:00', 'Z')}")
        if end is not None:
            args.append(f"--end={end.isoformat().replace('+00:00', 'Z')}")
        self.amtool_run(*args)


def _config(webhook_url: str, key: str) -> str:
    config: dict[str, Any] = {
        "route": {
            "receiver": "pcp",
            "group_by": ["alertname"],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "1h",
        },
        "receivers": [
            {
                "name": "pcp",
                "webhook_configs": [
                    {
                        "url": webhook_url,
                        "send_resolved": True,
                        "http_config": {"authorization": {"type": "Bearer", "credentials": key}},
                    }
                ],
            }
        ],
    }
    return json.dumps(config)  # YAML is a superset of JSON


@pytest.fixture
def alertmanager(live_server: Any, tmp_path: Path) -> Iterator[Alertmanager]:
    binary = _binary("prometheus-alertmanager", "alertmanager")
    amtool = _binary("amtool")
    roles_bootstrap()
    key = api_key_create(
        name="alertmanager", user=service_account_for_role(role=Role.MONITORING)
    ).raw
    config = tmp_path / "alertmanager.yml"
    config.write_text(_config(f"{live_server.url}/api/v1/integrations/alertmanager/", key))
    subprocess.run([amtool, "check-config", str(config)], check=True, capture_output=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "alertmanager.log"
    process = spawn(
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=debug",
        ],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        log=log,
    )
    try:
        wait_for(
            lambda: urllib.request.urlopen(f"{url}/-/ready", timeout=1).status == 200,  # noqa: S310
            timeout=20,
            what="alertmanager to be ready",
        )
        yield Alertmanager(url=url, amtool=amtool, log=log)
    finally:
        stop(process)


def _wait(predicate: Any, what: str, am: Alertmanager, timeout: float = 30) -> None:
    try:
        wait_for(predicate, timeout=timeout, what=what, interval=0.2)
    except TimeoutError as exc:
        tail = am.log.read_text()[-4000:]
        raise AssertionError(f"{exc}\n--- alertmanager log ---\n{tail}") from exc


def test_alertmanager_opens_attaches_and_resolves_an_incident(alertmanager) -> None:
    started = datetime.now(UTC) - timedelta(seconds=5)
    labels_a = ["alertname=PcpLedgerLag", "severity=warning", "deal=D-LIVE-1", "instance=a"]
    labels_b = ["alertname=PcpLedgerLag", "severity=warning", "deal=D-LIVE-2", "instance=b"]

    alertmanager.fire(*labels_a, start=started)
    _wait(lambda: Incident.objects.exists(), "the incident", alertmanager)
    incident = Incident.objects.get()
    assert (incident.severity, incident.source, incident.status) == (
        "SEV2",
        Source.MONITORING,
        Status.OPEN,
    )
    assert incident.title == "PcpLedgerLag: Ledger lag over 5 minutes"
    assert incident.affected_deals == ["D-LIVE-1"]

    # A second alert of the same group: the same incident, no second one.
    alertmanager.fire(*labels_b, start=started)
    _wait(
        lambda: IncidentAlert.objects.filter(incident=incident).count() == 2,
        "the second alert on the incident",
        alertmanager,
    )
    assert Incident.objects.count() == 1
    assert sorted(Incident.objects.get().affected_deals) == ["D-LIVE-1", "D-LIVE-2"]

    # Resolve both (an end time in the past): Alertmanager sends "resolved", the SEV2 resolves.
    ended = datetime.now(UTC) - timedelta(seconds=1)
    alertmanager.fire(*labels_a, start=started, end=ended)
    alertmanager.fire(*labels_b, start=started, end=ended)
    _wait(
        lambda: Incident.objects.get().status == Status.RESOLVED,
        "the incident to resolve",
        alertmanager,
    )
    incident = Incident.objects.get()
    assert incident.resolved_by is None
    assert set(IncidentAlert.objects.values_list("status", flat=True)) == {"resolved"}
    kinds = list(incident.timeline.order_by("id").values_list("kind", flat=True))
    assert kinds[0] == TimelineKind.OPENED
    assert kinds[-1] == TimelineKind.RESOLVED
    resolved_entries = [
        e for e in incident.timeline.filter(kind=TimelineKind.ALERT) if e.data.get("resolved")
    ]
    assert resolved_entries, list(incident.timeline.values_list("message", flat=True))
    assert Incident.objects.count() == 1
    print(
        "alertmanager live: 1 incident, "
        f"{incident.timeline.filter(kind=TimelineKind.ALERT).count()} alert entries, "
        f"resolved by the system after {len(resolved_entries)} resolved notification(s)"
    )
