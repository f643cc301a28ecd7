"""The console stores nothing of its own. ``GoNoGoReport`` is a table-less model that gives the
report a place in the admin (``/admin/console/gonogoreport/``) and carries its permission."""

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _


class _NoRows(models.Manager):  # type: ignore[type-arg]
    """There is no table: every query is empty and never reaches the database."""

    def get_queryset(self) -> Any:
        return super().get_queryset().none()


class GoNoGoReport(models.Model):
    objects = _NoRows()

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_go_no_go", "Can view the Go/No-Go report")]
        verbose_name = _("Go/No-Go report")
        verbose_name_plural = _("Go/No-Go reports")

    def __str__(self) -> str:
        return str(_("Go/No-Go report"))
