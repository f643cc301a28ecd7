"""A load client process (stdlib only): ``python -m tests.reliability.loadclient <scenario>
<json config>``; prints one JSON line of what it saw. Used by the race tests."""

import json
import random
import sys
import time
from collections import Counter
from typing import Any

from tests.procs import http


def feed(cfg: dict[str, Any]) -> dict[str, Any]:
    """Repeat the same batches: keyed ones (the same keys as every other client) and unkeyed
    ones; a 409 "in progress" is retried until it gets a 2xx."""
    base, auth = cfg["base"], {"Authorization": f"Bearer {cfg['key']}"}
    statuses: Counter[int] = Counter()
    keyed: dict[str, list[tuple[bool, str]]] = {}
    retries = requests = 0
    for repeat in range(cfg["repeats"]):
        for batch in cfg["batches"]:
            headers = dict(auth)
            key = None
            if batch["keyed"]:
                key = f"{batch['name']}-{repeat % cfg['keys_per_batch']}"
                headers["Idempotency-Key"] = key
            for _attempt in range(200):
                status, response_headers, body = http(
                    "POST", base + batch["path"], batch["items"], headers
                )
                requests += 1
                statuses[status] += 1
                if status == 409 and b"idempotency_in_progress" in body:
                    retries += 1
                    time.sleep(0.01)
                    continue
                break
            if key is not None and 200 <= status < 300:
                replayed = response_headers.get("Idempotent-Replayed") == "true"
                keyed.setdefault(key, []).append((replayed, body.decode()))
    return {
        "requests": requests,
        "retries": retries,
        "statuses": {str(k): v for k, v in statuses.items()},
        "keyed": keyed,
    }


def pilot(cfg: dict[str, Any]) -> dict[str, Any]:
    """Race kill switch, change requests and approvals (each role with its own key)."""
    base = cfg["base"]
    rnd = random.Random(cfg["seed"])
    keys = cfg["keys"]
    statuses: Counter[str] = Counter()
    approvals: list[dict[str, Any]] = []
    requests = 0

    def call(role: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        nonlocal requests
        status, _h, raw = http(method, base + path, body, {"Authorization": f"Bearer {keys[role]}"})
        requests += 1
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = None
        code = data.get("error", {}).get("code") if isinstance(data, dict) else None
        statuses[
            f"{method} {path.split('/')[4] if path.count('/') > 4 else path} {status} "
            f"{code or ''}".strip()
        ] += 1
        return status, data

    flags = cfg["flags"]
    for _ in range(cfg["rounds"]):
        action = rnd.choice(["disable", "request", "request", "approve", "approve", "approve"])
        if action == "disable":
            call("operator", "POST", "/api/v1/pilot/disable/", {"reason": "race: stop"})
        elif action == "request":
            kind = rnd.choice(["enable", "flag_on", "set_template_version"])
            params: dict[str, Any] = {}
            if kind == "flag_on":
                params = {"flag": rnd.choice(flags)}
            elif kind == "set_template_version":
                params = {"version": rnd.choice(["v1", "v2"])}
            call(
                "engineer",
                "POST",
                "/api/v1/pilot/change-requests/",
                {"action": kind, "params": params, "reason": "race: change"},
            )
        else:
            status, page = call(
                "coordinator", "GET", "/api/v1/pilot/change-requests/?status=pending&limit=20"
            )
            pending = page.get("results", []) if status == 200 and isinstance(page, dict) else []
            if pending:
                target = rnd.choice(pending)["id"]
                status, data = call(
                    "coordinator", "POST", f"/api/v1/pilot/change-requests/{target}/approve/"
                )
                code = (
                    data.get("error", {}).get("code")
                    if isinstance(data, dict) and status >= 400
                    else None
                )
                approvals.append({"id": target, "status": status, "code": code})
    return {"requests": requests, "statuses": dict(statuses), "approvals": approvals}


if __name__ == "__main__":
    scenario, config = sys.argv[1], json.loads(sys.argv[2])
    print(json.dumps({"feed": feed, "pilot": pilot}[scenario](config)))
