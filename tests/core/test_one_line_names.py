"""Names and labels are one line at every entry point: each service that writes one refuses a
person's line break (naming the field, nothing stored) and folds the system's."""

from datetime import date

import pytest

from core.errors import DomainError
from core.models import ApiKey
from incidents.models import BusinessHoliday, EscalationLevel, WebhookEndpoint
from incidents.services import sla_config_save
from pilot.models import FeatureFlag, TemplateVersion
from pilot.services.catalog import (
    feature_flag_create,
    feature_flag_update,
    template_version_create,
)

pytestmark = pytest.mark.django_db


def test_api_key_name_with_a_newline_is_a_400_naming_name(client_for, owner) -> None:
    api = client_for(owner)
    before = ApiKey.objects.count()
    response = api.post(
        "/api/v1/api-keys/", {"name": "platform\nBcc: x", "role": "api-client"}, format="json"
    )
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["fields"]) == ["name"]
    assert ApiKey.objects.count() == before


def test_api_key_admin_add_form_shows_the_rule(owner, client) -> None:
    client.force_login(owner)
    response = client.post(
        "/admin/core/apikey/add/", {"name": "mine\r\nforged", "user": owner.pk, "expires_at": ""}
    )
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["name"]
    assert not ApiKey.objects.filter(user=owner).exists()


def test_roster_names_refused_in_the_service_and_beside_the_admin_field(owner, client) -> None:
    with pytest.raises(DomainError) as refused:
        sla_config_save(
            instance=BusinessHoliday(date=date(2031, 5, 2), name="Day\noff"), actor=owner
        )
    assert list(refused.value.fields or {}) == ["name"]
    with pytest.raises(DomainError):
        sla_config_save(
            instance=WebhookEndpoint(
                name="Ops\u2028chat", url="https://hooks.example.com/x", secret="s" * 32
            ),
            actor=owner,
        )
    level = EscalationLevel.objects.get(level=1)
    client.force_login(owner)
    response = client.post(
        f"/admin/incidents/escalationlevel/{level.pk}/change/",
        {"name": "L1\tops", "responsibilities": level.responsibilities},
    )
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["name"]
    assert not BusinessHoliday.objects.filter(date=date(2031, 5, 2)).exists()
    assert not WebhookEndpoint.objects.exists()
    assert EscalationLevel.objects.get(level=1).name == level.name


def test_catalog_label_and_flag_description(owner) -> None:
    with pytest.raises(DomainError) as refused:
        template_version_create(actor=owner, label="v9\nv10", sequence=9)
    assert list(refused.value.fields or {}) == ["label"]
    with pytest.raises(DomainError) as refused:
        feature_flag_create(actor=owner, name="fast-release", description="Skips\ninspection")
    assert list(refused.value.fields or {}) == ["description"]
    flag = feature_flag_create(actor=owner, name="fast-release", description="Skips inspection")
    with pytest.raises(DomainError):
        feature_flag_update(actor=owner, flag=flag, changes={"description": "a\r\nb"})
    assert FeatureFlag.objects.get(pk=flag.pk).description == "Skips inspection"
    # The system (seed, commands) composes its own text: folded, never refused.
    system = feature_flag_create(actor=None, name="seeded", description="one\ntwo")
    assert system.description == "one two"
    assert not TemplateVersion.objects.filter(label__contains="\n").exists()
