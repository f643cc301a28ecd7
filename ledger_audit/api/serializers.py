"""API shapes of the ledger audit. Feed item serializers document the schema; the feed itself is
validated by ``ledger_audit.feed`` (fast, whole-batch, errors per item index)."""

from typing import Any

from rest_framework import serializers
from rest_framework.reverse import reverse

from ledger_audit.enums import DisputeStatus, EntryKind, TimerStatus
from ledger_audit.models import TimelineExport


class DealEventItemSerializer(serializers.Serializer):  # type: ignore[type-arg]
    deal_id = serializers.CharField(max_length=128)
    state = serializers.CharField(max_length=32, help_text="FUNDED, INSPECTION, ISSUE, ...")
    occurred_at = serializers.DateTimeField()
    template_version = serializers.CharField(max_length=64, required=False, allow_blank=True)


class LedgerEntryItemSerializer(serializers.Serializer):  # type: ignore[type-arg]
    entry_id = serializers.CharField(max_length=128)
    deal_id = serializers.CharField(max_length=128)
    idempotency_key = serializers.CharField(max_length=255)
    kind = serializers.ChoiceField(choices=EntryKind.choices)
    amount = serializers.CharField(help_text="decimal string, at most 20 digits, 8 decimals")
    currency = serializers.CharField(min_length=3, max_length=3, help_text="ISO 4217")
    created_at = serializers.DateTimeField()


class TimerItemSerializer(serializers.Serializer):  # type: ignore[type-arg]
    timer_id = serializers.CharField(max_length=128)
    deal_id = serializers.CharField(max_length=128)
    kind = serializers.CharField(max_length=64)
    expires_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=TimerStatus.choices)


class FailedResolutionAttemptSerializer(serializers.Serializer):  # type: ignore[type-arg]
    attempted_at = serializers.DateTimeField()
    error = serializers.CharField(max_length=255, help_text="what the platform refused, and why")
    by = serializers.CharField(
        max_length=128, required=False, allow_blank=True, help_text="who tried (user id or role)"
    )


class DisputeItemSerializer(serializers.Serializer):  # type: ignore[type-arg]
    dispute_id = serializers.CharField(max_length=128)
    deal_id = serializers.CharField(max_length=128)
    opened_at = serializers.DateTimeField()
    ttl_seconds = serializers.IntegerField(required=False, min_value=1)
    expires_at = serializers.DateTimeField(required=False)
    status = serializers.ChoiceField(choices=DisputeStatus.choices)
    resolution = serializers.CharField(max_length=255, required=False, allow_blank=True)
    failed_resolution_attempts = serializers.ListField(
        child=FailedResolutionAttemptSerializer(),
        required=False,
        max_length=50,
        help_text="resolutions tried and refused (the dispute's whole list so far; omitted: none). "
        "An open dispute with one is the runbook's Incident 3, admin cannot resolve dispute",
    )


class FeedResultSerializer(serializers.Serializer):  # type: ignore[type-arg]
    stored = serializers.IntegerField()
    unchanged = serializers.IntegerField()


class ExportRequestSerializer(serializers.Serializer):  # type: ignore[type-arg]
    incident = serializers.IntegerField(min_value=1, help_text="incident number")
    deal_ids = serializers.ListField(
        child=serializers.CharField(max_length=128),
        required=False,
        allow_empty=False,
        help_text="default: the incident's affected deals",
    )


class ExportCreatedSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    status = serializers.CharField()


class ExportSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    incident = serializers.IntegerField(source="incident.number")
    requested_by = serializers.CharField(source="requested_by.username", default=None)
    download_url = serializers.SerializerMethodField()
    deal_count = serializers.SerializerMethodField()

    class Meta:
        model = TimelineExport
        fields = [
            "id",
            "incident",
            "status",
            "rows_done",
            "rows_total",
            "sha256",
            "download_url",
            "deal_count",
            "requested_by",
            "requested_at",
            "started_at",
            "finished_at",
            "manifest",
            "error",
        ]
        read_only_fields = fields

    def get_download_url(self, obj: TimelineExport) -> str | None:
        if not obj.is_done:
            return None
        request: Any = self.context.get("request")
        return reverse("api:export-download", kwargs={"pk": obj.pk}, request=request)

    def get_deal_count(self, obj: TimelineExport) -> int:
        return len(obj.deal_ids or [])
