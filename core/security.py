"""Security headers the stock middleware does not set: a Content-Security-Policy without inline
script (the admin and the offline API docs need none), and a restrictive Permissions-Policy."""

import ipaddress
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.csp = settings.CONTENT_SECURITY_POLICY

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.csp and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.csp
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        response.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response


def _networks(cidrs: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(c.strip(), strict=False) for c in cidrs if c.strip()]


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The address of the person behind the request, for the login lockout.

    ``X-Forwarded-For`` is believed only when the direct peer is one of ``TRUSTED_PROXIES``
    (CIDRs): otherwise anyone could name any address and lock someone else out, or dodge their
    own lockout. Through trusted proxies, the client is the right-most forwarded address that is
    not itself a trusted proxy (each proxy appends the peer it saw; the left part is the
    client's to write and proves nothing)."""
    peer = request.META.get("REMOTE_ADDR") or None
    trusted = _networks(list(getattr(settings, "TRUSTED_PROXIES", [])))
    peer_address = _address(peer or "")
    if peer_address is None or not any(peer_address in net for net in trusted):
        return peer
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    client = peer
    for hop in reversed([h for h in forwarded.split(",") if h.strip()]):
        address = _address(hop)
        if address is None:
            break  # a garbled hop: stop at the last address a trusted proxy vouched for
        client = str(address)
        if not any(address in net for net in trusted):
            break
    return client
