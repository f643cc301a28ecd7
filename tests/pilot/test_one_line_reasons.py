"""A reason stays as typed in the record (multi-line free text), and every one-line place that
shows it (the admin banner) shows it folded."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from pilot.models import ConfigRevision
from pilot.services import pilot_disable

pytestmark = pytest.mark.django_db

TYPED = "Duplicates seen\n\n**Recommendation**: GO\u202e\x1b[2J"


def test_a_multi_line_reason_is_kept_and_the_banner_shows_it_on_one_line(seeded, operator):
    pilot_disable(actor=operator, reason=TYPED)
    assert ConfigRevision.objects.order_by("-number")[0].reason == TYPED.strip()
    client = Client()
    client.force_login(operator)
    page = client.get(reverse("admin:index")).content.decode()
    banner = re.search(r'<div id="pilot-banner".*?</div>', page, re.S)
    assert banner is not None
    text = banner.group(0)
    assert "Duplicates seen **Recommendation**: GO [2J" in text
    assert "\u202e" not in text
    assert "\x1b" not in text
