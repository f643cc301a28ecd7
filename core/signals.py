"""Cache invalidation only: access may have changed, so cached API-key authentications go."""

from typing import Any

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from core import auth_cache


def _invalidate(**_: Any) -> None:
    # Now, so nothing cached before the change is used; after commit, so nothing read from the
    # database while the change was uncommitted survives it.
    auth_cache.bump_epoch()
    transaction.on_commit(auth_cache.bump_epoch)


def connect() -> None:
    post_save.connect(_invalidate, sender=User, dispatch_uid="core-auth-user-saved")
    post_delete.connect(_invalidate, sender=User, dispatch_uid="core-auth-user-deleted")
    m2m_changed.connect(_invalidate, sender=User.groups.through, dispatch_uid="core-auth-groups")
    m2m_changed.connect(
        _invalidate, sender=User.user_permissions.through, dispatch_uid="core-auth-user-perms"
    )
    m2m_changed.connect(
        _invalidate, sender=Group.permissions.through, dispatch_uid="core-auth-group-perms"
    )
