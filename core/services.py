"""Writes of the access platform: roles, members, API keys (each audited through core.audit)."""

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from django.conf import settings
from django.contrib.auth.models import (
    AnonymousUser,
    Group,
    Permission,
)
from django.contrib.auth.models import User as UserModel
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core import auth_cache
from core.audit import AuditEventType, actor_or_none, record
from core.errors import Conflict, DomainError, NotAllowed
from core.models import ApiKey, ServiceAccount
from core.permissions import CorePerm
from core.roles import PROJECT_APPS, ROLES, VIEW_ALL_EXCLUDED, Role, role_permissions
from core.selectors import is_person, is_service_account
from core.text import one_line_field

KEY_PREFIX = "pcp"
# Usernames of the roles' service accounts; no person may be created under this prefix.
SERVICE_ACCOUNT_PREFIX = "svc-"

Actor = UserModel | AnonymousUser | None


def _actor_or_none(actor: Actor) -> Any:
    return actor_or_none(actor)


def person_required(what: str) -> NotAllowed:
    """The refusal of an act that must name a person, done by a machine account. ``what`` is
    the act ("Approving a change request")."""
    return NotAllowed(
        _("%(what)s must be done by a person, not a service account.") % {"what": what},
        code="person_required",
    )


def require_person(actor: Actor, what: str) -> None:
    """Refuse unless ``actor`` is a person (``core.selectors.is_person``): the one guard of the
    acts a machine account may never do whatever its permissions (deciding change requests,
    closing and reopening incidents, policy edits, minting keys through the API). Four eyes
    then compares people."""
    if not is_person(actor):
        raise person_required(what)


def require_perm(
    actor: Actor, perm: str, message: str, *, system: bool = True, person: str | None = None
) -> None:
    """Refuse unless ``actor`` holds ``perm``. The one permission guard of every app's services.

    ``None`` is the system itself (commands, tasks, detectors): allowed unless ``system=False``,
    for acts that must always name an account. ``person`` (the act, in words) marks an act that
    must name a person: an account holding ``perm`` is still refused when it is a service
    account (see ``require_person``)."""
    if actor is None:
        if not system:
            raise NotAllowed(message)
        return
    if not (actor.is_authenticated and actor.is_active and actor.has_perm(perm)):
        raise NotAllowed(message)
    if person is not None:
        require_person(actor, person)


# --- Roles and members ----------------------------------------------------------------------


def _resolve(perm: str) -> Permission:
    app_label, codename = perm.split(".", 1)
    try:
        return Permission.objects.get(content_type__app_label=app_label, codename=codename)
    except Permission.DoesNotExist:
        raise DomainError(f"Permission {perm!r} named in core/roles.py does not exist.") from None


@transaction.atomic
def roles_bootstrap() -> dict[str, int]:
    """Create every role's group with exactly the permissions of the table. Safe to run again."""
    view_all_perms = list(
        Permission.objects.filter(
            content_type__app_label__in=PROJECT_APPS, codename__startswith="view_"
        ).select_related("content_type")
    )
    result: dict[str, int] = {}
    for role, info in ROLES.items():
        grants, view_all = role_permissions(role)
        perms = {_resolve(p) for p in grants}
        if view_all:
            perms |= {
                p
                for p in view_all_perms
                if f"{p.content_type.app_label}.{p.codename}" not in VIEW_ALL_EXCLUDED
            }
        group, _ = Group.objects.get_or_create(name=info.group)
        group.permissions.set(perms)
        result[info.group] = len(perms)
    return result


def user_roles(user: Any) -> list[Role]:
    names = {g.name for g in user.groups.all()}
    return [role for role, info in ROLES.items() if info.group in names]


def user_level(user: Any) -> int | None:
    """The highest escalation level the user holds (superusers count as L4)."""
    if getattr(user, "is_superuser", False):
        return 4
    levels = [ROLES[r].level for r in user_roles(user) if ROLES[r].level is not None]
    return max(levels) if levels else None  # type: ignore[type-var]


@transaction.atomic
def member_create(
    *,
    username: str,
    role: Role,
    password: str | None,
    email: str = "",
    actor: Actor = None,
    service_account: bool = False,
) -> UserModel:
    """Create a person in one role (no usable password when ``password`` is None), or, with
    ``service_account`` or in a machine-only role (API client), a machine account (never a
    usable password; marked by a ``ServiceAccount`` row)."""
    if UserModel.objects.filter(username=username).exists():
        raise Conflict(f"A user named {username!r} already exists.", code="user_exists")
    info = ROLES[role]
    service_account = service_account or info.machine
    if not service_account and username.startswith(SERVICE_ACCOUNT_PREFIX):
        raise DomainError(
            f"Usernames starting with {SERVICE_ACCOUNT_PREFIX!r} are kept for service accounts.",
            code="reserved_username",
            fields={"username": ["Reserved for service accounts."]},
        )
    user = UserModel(username=username, email=email, is_staff=info.staff)
    if password is None or service_account:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.save()
    group, _created = Group.objects.get_or_create(name=info.group)
    user.groups.add(group)
    data: dict[str, Any] = {"role": str(role)}
    if service_account:
        ServiceAccount.objects.create(user=user)
        data["service_account"] = True
    record(event=AuditEventType.MEMBER_CREATE, actor=actor, target=user, data=data)
    return user


def service_account_for_role(*, role: Role, actor: Actor = None) -> UserModel:
    """The machine account that keys created ``--role ROLE`` belong to."""
    username = f"{SERVICE_ACCOUNT_PREFIX}{role.value}"
    existing = UserModel.objects.filter(username=username).first()
    if existing is not None:
        if not is_service_account(existing):
            # A person holding the name must never receive the role's machine keys.
            raise Conflict(
                f"{username!r} is a person, not the {role.value} service account.",
                code="not_service_account",
            )
        return existing
    return member_create(
        username=username, role=role, password=None, actor=actor, service_account=True
    )


# --- API keys -------------------------------------------------------------------------------


def _pepper() -> bytes:
    return (settings.API_KEY_PEPPER or settings.SECRET_KEY).encode()


def api_key_digest(raw_key: str) -> str:
    """Keyed hash (HMAC-SHA256): fast enough for every request, useless without the pepper."""
    return hmac.digest(_pepper(), raw_key.encode(), "sha256").hex()


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    raw: str  # shown to the creator once, never stored


# Where a key was minted, as the audit event records it. Only the system (``created_by=None``:
# the ``create_api_key`` command run by the machine's operator, seeding) may mint a key for
# someone else; "via" says which door was used, it grants nothing.
KeyVia = Literal["api", "admin", "cli", "system"]


def _api_key_owner(*, created_by: Actor, user: Any, role: Role | None) -> Any:
    """Whose key a person may mint: their own, or (the decision owner, who alone holds
    ``add_apikey``) a role's service account, never another person's: a key in another's name
    would let one person act, and approve, as two."""
    if created_by is None:
        return service_account_for_role(role=role) if role is not None else user
    require_person(created_by, _("Creating an API key"))
    if role is not None:
        return service_account_for_role(role=role, actor=created_by)
    if user.pk != created_by.pk and not is_service_account(user):
        raise NotAllowed(
            _(
                "A person may create API keys only for themselves or for a role's service "
                "account; a key for another person is created on the server "
                "(manage.py create_api_key --user)."
            ),
            code="not_own_key",
            fields={"user": [_("Only your own username, or use role.")]},
        )
    return user


@transaction.atomic
def api_key_create(
    *,
    name: str,
    user: Any = None,
    role: Role | None = None,
    created_by: Actor = None,
    expires_at: datetime | None = None,
    via: KeyVia = "system",
) -> IssuedKey:
    """Mint a key for ``user`` or for ``role``'s service account (exactly one of them)."""
    require_perm(created_by, CorePerm.ADD_APIKEY, "Only a decision owner may create API keys.")
    if (user is None) == (role is None):
        raise DomainError("Give exactly one of user or role.")
    name = name.strip()
    if not name:
        raise DomainError("An API key needs a name.", fields={"name": ["This field is required."]})
    name = one_line_field(name, field="name")  # typed by a person (API, admin, CLI): refused
    if expires_at is not None and expires_at <= timezone.now():
        raise DomainError(
            "The expiry must be in the future.", fields={"expires_at": ["Must be in the future."]}
        )
    user = _api_key_owner(created_by=created_by, user=user, role=role)
    prefix = secrets.token_hex(6)
    raw = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        name=name,
        user=user,
        prefix=prefix,
        digest=api_key_digest(raw),
        created_by=_actor_or_none(created_by),
        expires_at=expires_at,
    )
    record(
        event=AuditEventType.API_KEY_CREATE,
        actor=created_by,
        target=key,
        after={"name": name, "user": user.get_username(), "prefix": prefix},
        data={"via": via},
    )
    return IssuedKey(api_key=key, raw=raw)


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor: Actor, reason: str = "") -> ApiKey:
    require_perm(actor, CorePerm.REVOKE_APIKEY, "Only a decision owner may revoke API keys.")
    key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if key.revoked_at is not None:
        return key  # already revoked: nothing more to do, nothing new to record
    now = timezone.now()
    key.revoked_at = now
    key.revoked_by = _actor_or_none(actor)
    key.save(update_fields=["revoked_at", "revoked_by"])
    record(
        event=AuditEventType.API_KEY_REVOKE,
        actor=actor,
        target=key,
        before={"revoked_at": None},
        after={"revoked_at": now.isoformat()},
        reason=reason,
    )
    auth_cache.bump_epoch()  # see core.signals: now and again after commit
    transaction.on_commit(auth_cache.bump_epoch)
    return key


# last_used_at is written at most this often per key, so the hot path does not write every time.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def api_key_digest_of(raw_key: str) -> str | None:
    """The digest of a well-formed key (``pcp_<prefix>_<secret>``); None for anything else."""
    parts = raw_key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or len(raw_key) > 200:
        return None
    return api_key_digest(raw_key)


def api_key_entry_fresh(entry: dict[str, Any], now: datetime) -> bool:
    """A current auth-cache entry can answer on its own: the key has not expired and its
    last-used time does not need writing yet. (Revocations and user changes never reach here:
    they bump the auth epoch, which invalidates the entry.)"""
    expires_at, last_used_at = entry["expires_at"], entry["last_used_at"]
    ts = now.timestamp()
    if expires_at is not None and expires_at <= ts:
        return False
    return last_used_at is not None and last_used_at >= ts - LAST_USED_RESOLUTION.total_seconds()


def api_key_entry_has_perm(entry: dict[str, Any], perm: str) -> bool:
    """``user.has_perm(perm)`` for the (active) user of a cached key, without building it."""
    return bool(
        entry["is_superuser"] or perm in entry["user_perms"] or perm in entry["group_perms"]
    )


def api_key_authenticate(raw_key: str) -> ApiKey | None:
    """The active key matching ``raw_key``, or None. Compares digests in constant time.

    Served from the auth cache when it holds a current entry (see ``core.auth_cache``); the
    returned key's ``user`` then carries its permission set, so permission checks need no query.
    """
    digest = api_key_digest_of(raw_key)
    if digest is None:
        return None
    now = timezone.now()
    entry, epoch = auth_cache.lookup(digest)
    if entry is not None:
        cached = _key_from_entry(entry)
        cached.digest = digest
        if not cached.is_active:
            return None
        if cached.last_used_at is None or cached.last_used_at < now - LAST_USED_RESOLUTION:
            _touch(cached, now)
            auth_cache.store(
                digest, {**entry, "last_used_at": now.timestamp()}, epoch=entry["epoch"]
            )
        return cached
    prefix = raw_key.split("_", 2)[1]
    key = ApiKey.objects.select_related("user").filter(prefix=prefix).first()
    if key is None or not hmac.compare_digest(key.digest, digest):
        return None
    if not key.is_active or not key.user.is_active:
        return None
    if key.last_used_at is None or key.last_used_at < now - LAST_USED_RESOLUTION:
        _touch(key, now)
    if epoch is not None:
        auth_cache.store(digest, _entry_from_key(key), epoch=epoch)
    return key


def _touch(key: ApiKey, now: datetime) -> None:
    ApiKey.objects.filter(pk=key.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
    ).update(last_used_at=now)
    key.last_used_at = now


def _ts(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def _dt(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value is not None else None


def _entry_from_key(key: ApiKey) -> dict[str, Any]:
    user = key.user
    return {
        "key_id": key.pk,
        "name": key.name,
        "prefix": key.prefix,
        "expires_at": _ts(key.expires_at),
        "last_used_at": _ts(key.last_used_at),
        "user_id": user.pk,
        "username": user.get_username(),
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "user_perms": sorted(user.get_user_permissions()),
        "group_perms": sorted(user.get_group_permissions()),
    }


def _key_from_entry(entry: dict[str, Any]) -> ApiKey:
    user = UserModel(
        pk=entry["user_id"],
        username=entry["username"],
        is_active=True,
        is_staff=entry["is_staff"],
        is_superuser=entry["is_superuser"],
    )
    user._state.adding = False
    user._state.db = "default"
    user_perms, group_perms = set(entry["user_perms"]), set(entry["group_perms"])
    user._user_perm_cache = user_perms  # type: ignore[attr-defined]
    user._group_perm_cache = group_perms  # type: ignore[attr-defined]
    user._perm_cache = user_perms | group_perms  # type: ignore[attr-defined]
    key = ApiKey(
        pk=entry["key_id"],
        name=entry["name"],
        prefix=entry["prefix"],
        user=user,
        expires_at=_dt(entry["expires_at"]),
        last_used_at=_dt(entry["last_used_at"]),
    )
    key._state.adding = False
    key._state.db = "default"
    return key
