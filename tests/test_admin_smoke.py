"""Every registered admin page answers for a superuser: changelist, add (when allowed), change."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from core.services import api_key_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client() -> Client:
    user = User.objects.create_superuser("root", "root@example.test", "pw-for-tests")
    api_key_create(name="smoke", user=user)  # an ApiKey and an AuditEvent to open
    client = Client()
    client.force_login(user)
    return client


def test_admin_index_and_login_page(client: Client, superuser_client: Client) -> None:
    assert client.get("/admin/login/").status_code == 200
    assert superuser_client.get("/admin/").status_code == 200


@pytest.mark.parametrize("model", list(admin.site._registry), ids=lambda m: m._meta.label_lower)
def test_changelist_add_and_change_pages(model, superuser_client: Client) -> None:
    opts = model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    assert superuser_client.get(changelist).status_code == 200
    assert superuser_client.get(changelist + "?q=x").status_code == 200
    model_admin = admin.site._registry[model]
    request = superuser_client.get(changelist).wsgi_request
    if model_admin.has_add_permission(request):
        add = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
        assert superuser_client.get(add).status_code == 200
    obj = model._default_manager.order_by("pk").first()
    if obj is not None:
        change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        assert superuser_client.get(change).status_code == 200
