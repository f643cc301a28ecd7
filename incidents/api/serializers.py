from typing import Any

from rest_framework import serializers

from incidents.enums import BoundAction, Category, EscalationCriterion, Severity, Status
from incidents.models import ChecklistStep, Incident, TimelineEntry

INCIDENT_FIELDS: tuple[str, ...] = (
    "number",
    "title",
    "severity",
    "category",
    "status",
    "escalation_level",
    "opened_at",
    "acknowledged_at",
    "resolved_at",
    "closed_at",
    "response_due_at",
    "escalation_due_at",
    "acknowledged_late",
    "resolved_late",
    "affected_deals",
    "dedup_key",
    "description",
    "impact",
    "root_cause",
    "resolution",
    "prevention",
    "lessons_learned",
    "reported_by",
    "resolved_by",
)


class IncidentSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """An incident as lists show it."""

    reported_by: serializers.Field[Any, Any, Any, Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    resolved_by: serializers.Field[Any, Any, Any, Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    affected_deals = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Incident
        fields: tuple[str, ...] = INCIDENT_FIELDS
        read_only_fields: tuple[str, ...] = INCIDENT_FIELDS


class ChecklistStepSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    done_by: serializers.Field[Any, Any, Any, Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    bound_action = serializers.ChoiceField(
        choices=BoundAction.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = ChecklistStep
        fields: tuple[str, ...] = (
            "id",
            "title",
            "done",
            "done_by",
            "done_at",
            "note",
            "position",
            "section",
            "detail",
            "bound_action",
        )
        read_only_fields: tuple[str, ...] = fields


class TimelineEntrySerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    actor = serializers.CharField(source="actor_label", read_only=True)

    class Meta:
        model = TimelineEntry
        fields: tuple[str, ...] = ("id", "at", "kind", "actor", "message", "data")
        read_only_fields: tuple[str, ...] = fields


class IncidentDetailSerializer(IncidentSerializer):
    """One incident with its checklist (runbook order) and timeline."""

    checklist = ChecklistStepSerializer(many=True, read_only=True)
    timeline = TimelineEntrySerializer(many=True, read_only=True)

    class Meta(IncidentSerializer.Meta):
        fields = (*INCIDENT_FIELDS, "checklist", "timeline")
        read_only_fields = fields


class IncidentCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    title = serializers.CharField(max_length=200)
    severity = serializers.ChoiceField(choices=Severity.choices)
    category = serializers.ChoiceField(choices=Category.choices, default=Category.OTHER)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    impact = serializers.CharField(required=False, allow_blank=True, default="")
    affected_deals = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, default=list, max_length=5000
    )
    dedup_key = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=200,
        help_text="A repeat with the same key while the incident is not resolved/closed "
        "attaches to it (200) instead of opening another (201).",
    )


class IncidentLogUpdateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    title = serializers.CharField(required=False, max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    impact = serializers.CharField(required=False, allow_blank=True)
    root_cause = serializers.CharField(required=False, allow_blank=True)
    resolution = serializers.CharField(required=False, allow_blank=True)
    prevention = serializers.CharField(required=False, allow_blank=True)
    lessons_learned = serializers.CharField(required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError("Send at least one incident-log field.")
        return attrs


class ResolveSerializer(serializers.Serializer):  # type: ignore[type-arg]
    resolution = serializers.CharField(required=False, allow_blank=True, default="")


class DeferSerializer(serializers.Serializer):  # type: ignore[type-arg]
    bug_tracker_url = serializers.URLField(max_length=500)


class ReasonSerializer(serializers.Serializer):  # type: ignore[type-arg]
    reason = serializers.CharField()


class EscalateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    criterion = serializers.ChoiceField(choices=EscalationCriterion.choices)
    level = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=4)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class SeverityChangeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    severity = serializers.ChoiceField(choices=Severity.choices)
    reason = serializers.CharField()


class NoteSerializer(serializers.Serializer):  # type: ignore[type-arg]
    text = serializers.CharField()


class TickSerializer(serializers.Serializer):  # type: ignore[type-arg]
    note = serializers.CharField(required=False, allow_blank=True, default="")


class IncidentListQuerySerializer(serializers.Serializer):  # type: ignore[type-arg]
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    level = serializers.IntegerField(required=False, min_value=1, max_value=4)
    open = serializers.BooleanField(required=False, allow_null=True, default=None)
