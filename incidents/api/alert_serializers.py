"""The alert receivers' input: Alertmanager's webhook payload (version 4) and Grafana's webhook
contact point (the same shape plus its own fields). Every field the senders document is checked
for its type; fields they add later are ignored, not refused."""

from typing import Any

from django.conf import settings
from rest_framework import serializers

from incidents.models import AlertStatus
from incidents.services.alerts import Alert, AlertPayload, alert_fingerprint

_EPOCH_YEAR = 1970  # Alertmanager sends endsAt 0001-01-01T00:00:00Z for "not ended"


class StringMapField(serializers.DictField):
    """Labels and annotations: an object of strings to strings."""

    child = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=10_000)


class AlertSerializer(serializers.Serializer):  # type: ignore[type-arg]
    status = serializers.ChoiceField(choices=AlertStatus.choices)
    labels = StringMapField()
    annotations = StringMapField(required=False, default=dict)
    startsAt = serializers.DateTimeField(required=False, allow_null=True)  # noqa: N815
    endsAt = serializers.DateTimeField(required=False, allow_null=True)  # noqa: N815
    generatorURL = serializers.CharField(  # noqa: N815
        required=False, allow_blank=True, default="", max_length=2000
    )
    fingerprint = serializers.CharField(required=False, allow_blank=True, max_length=64)

    def validate_labels(self, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise serializers.ValidationError("An alert needs at least one label.")
        return value


class AlertmanagerPayloadSerializer(serializers.Serializer):  # type: ignore[type-arg]
    SENDER = "alertmanager"

    version = serializers.CharField()
    groupKey = serializers.CharField(max_length=10_000)  # noqa: N815
    truncatedAlerts = serializers.IntegerField(min_value=0, required=False, default=0)  # noqa: N815
    status = serializers.ChoiceField(choices=AlertStatus.choices)
    receiver = serializers.CharField(allow_blank=True)
    groupLabels = StringMapField(required=False, default=dict)  # noqa: N815
    commonLabels = StringMapField(required=False, default=dict)  # noqa: N815
    commonAnnotations = StringMapField(required=False, default=dict)  # noqa: N815
    externalURL = serializers.CharField(  # noqa: N815
        required=False, allow_blank=True, default="", max_length=2000
    )
    alerts = AlertSerializer(many=True, allow_empty=False)

    def validate_version(self, value: str) -> str:
        if value != "4":
            raise serializers.ValidationError('Only webhook payload version "4" is understood.')
        return value

    def validate_alerts(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        limit = settings.ALERT_MAX_PER_PAYLOAD
        if len(value) > limit:
            raise serializers.ValidationError(f"At most {limit} alerts per payload.")
        return value

    def payload(self) -> AlertPayload:
        data = self.validated_data
        alerts = []
        for raw in data["alerts"]:
            ends_at = raw.get("endsAt")
            if ends_at is not None and ends_at.year < _EPOCH_YEAR:
                ends_at = None
            starts_at = raw.get("startsAt")
            if starts_at is not None and starts_at.year < _EPOCH_YEAR:
                starts_at = None
            labels = raw["labels"]
            alerts.append(
                Alert(
                    status=raw["status"],
                    labels=labels,
                    annotations=raw.get("annotations") or {},
                    starts_at=starts_at,
                    ends_at=ends_at,
                    fingerprint=raw.get("fingerprint") or alert_fingerprint(labels),
                    generator_url=raw.get("generatorURL", ""),
                )
            )
        return AlertPayload(
            sender=self.SENDER,
            group_key=data["groupKey"],
            status=data["status"],
            alerts=alerts,
            group_labels=data["groupLabels"],
            common_labels=data["commonLabels"],
            common_annotations=data["commonAnnotations"],
            external_url=data["externalURL"],
            title=str(data.get("title", "")),
            truncated_alerts=data["truncatedAlerts"],
        )


class GrafanaPayloadSerializer(AlertmanagerPayloadSerializer):
    """Grafana's contact point sends version "1" and adds title, message, orgId, state."""

    SENDER = "grafana"

    title = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)
    message = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=100_000
    )
    orgId = serializers.IntegerField(required=False)  # noqa: N815
    state = serializers.CharField(required=False, allow_blank=True, max_length=40)

    def validate_version(self, value: str) -> str:
        return value


class AlertOutcomeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    number = serializers.IntegerField()
    created = serializers.BooleanField()
    status = serializers.CharField()
    firing = serializers.IntegerField()
    resolved = serializers.IntegerField()


class AlertReceiptSerializer(serializers.Serializer):  # type: ignore[type-arg]
    alerts = serializers.IntegerField()
    incidents = AlertOutcomeSerializer(many=True)
