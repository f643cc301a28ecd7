"""The alert receivers' input: Alertmanager's webhook payload (version 4) and Grafana's webhook
contact point (the same shape plus its own fields). Every field the senders document is checked
for its type; fields they add later are ignored, not refused."""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema_field
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


_STATUSES = frozenset(AlertStatus.values)
_TEXT_MAX = 10_000


def _string_map(value: Any, name: str, *, required: bool) -> dict[str, str]:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise serializers.ValidationError({name: ["An object of strings is required."]})
    for key, item in value.items():
        if not isinstance(item, str) or len(item) > _TEXT_MAX or len(key) > _TEXT_MAX:
            raise serializers.ValidationError({name: [f"{key[:100]!r}: a string is required."]})
        if "\x00" in item or "\x00" in key:  # PostgreSQL's JSON cannot store it
            raise serializers.ValidationError({name: [f"{key[:100]!r}: no NUL characters."]})
    if required and not value:
        raise serializers.ValidationError({name: ["An alert needs at least one label."]})
    return value


def _time(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None or parsed.tzinfo is None:
        raise serializers.ValidationError({name: ["An RFC 3339 time is required."]})
    return parsed


def _alert(raw: Any) -> dict[str, Any]:
    """One alert, checked like ``AlertSerializer`` says, in plain Python: a storm of a thousand
    alerts is validated in milliseconds rather than a second of nested DRF fields."""
    if not isinstance(raw, dict):
        raise serializers.ValidationError(["An object is required."])
    status = raw.get("status")
    if status not in _STATUSES:
        raise serializers.ValidationError({"status": [f"Choose one of {sorted(_STATUSES)}."]})
    fingerprint = raw.get("fingerprint", "")
    generator = raw.get("generatorURL", "")
    if not isinstance(fingerprint, str) or len(fingerprint) > 64:
        raise serializers.ValidationError({"fingerprint": ["At most 64 characters."]})
    if not isinstance(generator, str) or len(generator) > 2000:
        raise serializers.ValidationError({"generatorURL": ["At most 2000 characters."]})
    return {
        "status": status,
        "labels": _string_map(raw.get("labels"), "labels", required=True),
        "annotations": _string_map(raw.get("annotations"), "annotations", required=False),
        "startsAt": _time(raw.get("startsAt"), "startsAt"),
        "endsAt": _time(raw.get("endsAt"), "endsAt"),
        "generatorURL": generator,
        "fingerprint": fingerprint,
    }


@extend_schema_field(AlertSerializer(many=True))
class AlertListField(serializers.Field):  # type: ignore[type-arg]
    def to_internal_value(self, data: Any) -> list[dict[str, Any]]:
        if not isinstance(data, list):
            raise serializers.ValidationError("A list of alerts is required.")
        if not data:
            raise serializers.ValidationError("At least one alert is required.")
        limit = settings.ALERT_MAX_PER_PAYLOAD
        if len(data) > limit:
            raise serializers.ValidationError(f"At most {limit} alerts per payload.")
        alerts = []
        for index, raw in enumerate(data):
            try:
                alerts.append(_alert(raw))
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({str(index): exc.detail}) from exc
        return alerts

    def to_representation(self, value: Any) -> Any:
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
    alerts = AlertListField()

    def validate_version(self, value: str) -> str:
        if value != "4":
            raise serializers.ValidationError('Only webhook payload version "4" is understood.')
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
