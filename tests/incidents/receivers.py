"""Real local receivers for notification tests: an SMTP listener (aiosmtpd) and an HTTP webhook
receiver (http.server), each in a thread, recording what arrives."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Inbox:
    messages: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, item: dict[str, Any]) -> None:
        with self.lock:
            self.messages.append(item)


class _SmtpHandler:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content)
        self.inbox.add(
            {
                "to": list(envelope.rcpt_tos),
                "key": message["X-Notification-Key"],
                "subject": message["Subject"],
            }
        )
        return "250 Message accepted for delivery"


@contextmanager
def smtp_listener() -> Iterator[tuple[int, Inbox]]:
    inbox = Inbox()
    with socket.socket() as probe:  # a free port (the controller's self-check needs a real one)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(_SmtpHandler(inbox), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


@contextmanager
def http_receiver(*, status: int = 200, secret: str = "s3cret") -> Iterator[tuple[str, Inbox]]:
    """Records every POST (body, whether its signature verifies); answers ``status``."""
    inbox = Inbox()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            timestamp = self.headers.get("X-Signature-Timestamp", "")
            expected = hmac.new(
                secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
            ).hexdigest()
            inbox.add(
                {
                    "key": self.headers.get("X-Notification-Key"),
                    "signature_ok": self.headers.get("X-Signature") == f"sha256={expected}",
                    "body": json.loads(body),
                }
            )
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"ok" if status < 300 else b"boom")

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", inbox
    finally:
        server.shutdown()
        server.server_close()
