"""The login lockout behind a reverse proxy: it keys on the client the proxy forwards, and only
a trusted proxy is believed."""

from typing import Any

import pytest
from django.test import Client, RequestFactory

from core.roles import Role
from core.security import client_ip

PROXY = "10.9.0.5"


def _request(remote: str, forwarded: str | None = None):
    meta: dict[str, Any] = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/admin/login/", **meta)


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        (PROXY, "198.51.100.7", "198.51.100.7"),
        # The client may write anything on the left; the proxy appends what it saw.
        (PROXY, "203.0.113.9, 198.51.100.7", "198.51.100.7"),
        # Two trusted hops: the right-most untrusted address is the client.
        (PROXY, "198.51.100.7, 10.9.0.6", "198.51.100.7"),
        (PROXY, "not-an-ip, 198.51.100.7", "198.51.100.7"),
        (PROXY, "", PROXY),
        # An untrusted peer's header proves nothing.
        ("198.51.100.50", "203.0.113.9", "198.51.100.50"),
    ],
)
def test_forwarded_for_is_believed_only_from_a_trusted_proxy(
    settings, remote, forwarded, expected
) -> None:
    settings.TRUSTED_PROXIES = ["10.9.0.0/24"]
    assert client_ip(_request(remote, forwarded)) == expected


def test_without_trusted_proxies_the_header_is_ignored(settings) -> None:
    settings.TRUSTED_PROXIES = []
    assert client_ip(_request(PROXY, "198.51.100.7")) == PROXY


def _login(client: Client, password: str, forwarded: str, remote: str = PROXY):
    meta: dict[str, Any] = {"REMOTE_ADDR": remote, "HTTP_X_FORWARDED_FOR": forwarded}
    token = client.get("/admin/login/", **meta).cookies["csrftoken"].value
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": "olga", "password": password, "csrfmiddlewaretoken": token},
        **meta,
    )


@pytest.mark.django_db
def test_an_attacker_behind_the_proxy_cannot_lock_the_person_out(settings, make_member) -> None:
    settings.TRUSTED_PROXIES = ["10.9.0.0/24"]
    make_member(Role.OPERATOR, username="olga", password="a-long-pass-phrase-9")
    attacker = Client(enforce_csrf_checks=True)
    codes = [_login(attacker, "guess", "203.0.113.66").status_code for _ in range(6)]
    assert codes == [200, 200, 200, 200, 429, 429]
    # Olga comes through the same proxy from her own address and still gets in.
    olga = Client(enforce_csrf_checks=True)
    assert _login(olga, "a-long-pass-phrase-9", "198.51.100.7").status_code == 302
    # An untrusted peer forging the header is keyed on its own address: the forged
    # address (Olga's) is not locked by its failures.
    forger = Client(enforce_csrf_checks=True)
    for _ in range(5):
        _login(forger, "guess", "198.51.100.7", remote="192.0.2.99")
    assert (
        _login(
            Client(enforce_csrf_checks=True), "guess", "198.51.100.7", remote="192.0.2.99"
        ).status_code
        == 429
    )
    assert (
        _login(Client(enforce_csrf_checks=True), "a-long-pass-phrase-9", "198.51.100.7").status_code
        == 302
    )
