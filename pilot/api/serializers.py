from typing import Any

from rest_framework import serializers

from pilot.enums import CODE_ROLLBACK_STEPS, ChangeAction
from pilot.models import (
    ChangeRequest,
    ConfigRevision,
    RollbackRecord,
    TemplateVersion,
    WebhookSubscription,
)
from pilot.webhook_events import known_filters


class ConfigSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """What the pilot platform reads (``GET /api/v1/pilot/config/``)."""

    enabled = serializers.BooleanField()
    state = serializers.CharField()
    template_version = serializers.CharField()
    flags = serializers.DictField(child=serializers.BooleanField())
    revision = serializers.IntegerField()
    changed_at = serializers.DateTimeField(allow_null=True)
    changed_by = serializers.CharField(allow_null=True)
    reason = serializers.CharField(allow_blank=True)


class _IncidentInput(serializers.Serializer):  # type: ignore[type-arg]
    reason = serializers.CharField(allow_blank=True, trim_whitespace=True)
    incident = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="Incident number (optional)."
    )


class DisableInput(_IncidentInput):
    pass


class PauseInput(_IncidentInput):
    pass


class FlagOffInput(_IncidentInput):
    pass


class RevertTemplateInput(_IncidentInput):
    version = serializers.CharField(max_length=20)


class RevisionSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    parent = serializers.SerializerMethodField()  # type: ignore[assignment]
    created_by = serializers.SerializerMethodField()
    incident = serializers.SerializerMethodField()
    change_request = serializers.IntegerField(
        source="change_request_id", read_only=True, allow_null=True
    )

    class Meta:
        model = ConfigRevision
        fields = [
            "number",
            "parent",
            "kind",
            "state",
            "enabled",
            "template_version",
            "flags",
            "created_at",
            "created_by",
            "reason",
            "incident",
            "change_request",
        ]

    def get_parent(self, obj: ConfigRevision) -> int | None:
        return obj.number - 1 if obj.parent_id else None

    def get_created_by(self, obj: ConfigRevision) -> str | None:
        return obj.created_by.get_username() if obj.created_by else None

    def get_incident(self, obj: ConfigRevision) -> int | None:
        return obj.incident.number if obj.incident else None


class FieldChangeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    field = serializers.CharField()
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)


class ChangeRequestInput(serializers.Serializer):  # type: ignore[type-arg]
    action = serializers.ChoiceField(choices=ChangeAction.choices)
    params = serializers.DictField(required=False, default=dict)
    reason = serializers.CharField(allow_blank=True)
    incident = serializers.IntegerField(required=False, allow_null=True, min_value=1)


class RejectInput(serializers.Serializer):  # type: ignore[type-arg]
    reason = serializers.CharField(allow_blank=True)


class ChangeRequestSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    requested_by = serializers.SerializerMethodField()
    decided_by = serializers.SerializerMethodField()
    incident = serializers.SerializerMethodField()
    base_revision = serializers.SerializerMethodField()
    applied_revision = serializers.SerializerMethodField()

    class Meta:
        model = ChangeRequest
        fields = [
            "id",
            "action",
            "params",
            "reason",
            "incident",
            "status",
            "requested_by",
            "requested_at",
            "base_revision",
            "decided_by",
            "decided_at",
            "decision_reason",
            "applied_revision",
        ]

    def get_requested_by(self, obj: ChangeRequest) -> str:
        return obj.requested_by.get_username()

    def get_decided_by(self, obj: ChangeRequest) -> str | None:
        return obj.decided_by.get_username() if obj.decided_by else None

    def get_incident(self, obj: ChangeRequest) -> int | None:
        return obj.incident.number if obj.incident else None

    def get_base_revision(self, obj: ChangeRequest) -> int | None:
        return obj.base_revision.number if obj.base_revision else None

    def get_applied_revision(self, obj: ChangeRequest) -> int | None:
        revision: Any = getattr(obj, "applied_revision", None)
        return revision.number if revision is not None else None


class TemplateVersionSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    open_deals = serializers.SerializerMethodField()

    class Meta:
        model = TemplateVersion
        fields = ["label", "sequence", "description", "status", "body", "open_deals"]

    def get_open_deals(self, obj: TemplateVersion) -> int | None:
        counts = self.context.get("open_deals")
        return None if counts is None else int(counts.get(obj.label, 0))


class RollbackInput(serializers.Serializer):  # type: ignore[type-arg]
    from_commit = serializers.CharField(max_length=64)
    to_commit = serializers.CharField(max_length=64)
    reason = serializers.CharField(allow_blank=True)
    what_reverted = serializers.CharField(allow_blank=True)
    impact_on_deals = serializers.CharField(allow_blank=True)
    incident = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    verified_by = serializers.CharField(
        required=False, allow_blank=True, help_text="Username of the person who verified it."
    )
    steps_done = serializers.ListField(
        child=serializers.ChoiceField(choices=[key for key, _t in CODE_ROLLBACK_STEPS]),
        required=False,
        default=list,
    )


class RollbackSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    incident = serializers.SerializerMethodField()
    from_revision = serializers.SerializerMethodField()
    to_revision = serializers.SerializerMethodField()
    verified_by = serializers.SerializerMethodField()
    recorded_by = serializers.SerializerMethodField()

    class Meta:
        model = RollbackRecord
        fields = [
            "id",
            "kind",
            "incident",
            "from_revision",
            "to_revision",
            "from_commit",
            "to_commit",
            "reason",
            "what_reverted",
            "impact_on_deals",
            "checklist",
            "verified_by",
            "recorded_by",
            "recorded_at",
        ]

    def get_incident(self, obj: RollbackRecord) -> int | None:
        return obj.incident.number if obj.incident else None

    def get_from_revision(self, obj: RollbackRecord) -> int | None:
        return obj.from_revision.number if obj.from_revision else None

    def get_to_revision(self, obj: RollbackRecord) -> int | None:
        return obj.to_revision.number if obj.to_revision else None

    def get_verified_by(self, obj: RollbackRecord) -> str | None:
        return obj.verified_by.get_username() if obj.verified_by else None

    def get_recorded_by(self, obj: RollbackRecord) -> str | None:
        return obj.recorded_by.get_username() if obj.recorded_by else None


class WebhookSubscriptionSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """A subscription as listed: never its signing secret."""

    events = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = WebhookSubscription
        fields: tuple[str, ...] = (
            "id",
            "name",
            "url",
            "events",
            "active",
            "description",
            "created_at",
        )
        read_only_fields: tuple[str, ...] = fields


class WebhookSubscriptionCreatedSerializer(WebhookSubscriptionSerializer):
    """The creation answer: the generated signing secret, this once."""

    secret = serializers.CharField(help_text="Shown once; it cannot be read again.")

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = (*WebhookSubscriptionSerializer.Meta.fields, "secret")
        read_only_fields = fields


class WebhookSubscriptionInput(serializers.Serializer):  # type: ignore[type-arg]
    # Plain text, not a URLField: the address policy (pilot.services.catalog) judges the URL
    # and names the rule it breaks, as the admin does.
    name = serializers.CharField(max_length=100)
    url = serializers.CharField(max_length=500)
    events = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        help_text='Event names or patterns; default ["pilot.config"]. Known: '
        + ", ".join(known_filters()),
    )
    active = serializers.BooleanField(default=True)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
