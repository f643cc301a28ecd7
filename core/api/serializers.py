from typing import Any

from django.contrib.auth.models import User
from rest_framework import serializers

from core.models import ApiKey
from core.roles import Role


class MeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    username = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    level = serializers.IntegerField(allow_null=True)
    permissions = serializers.ListField(child=serializers.CharField())
    auth = serializers.ChoiceField(choices=["api_key", "session"])


class ApiKeySerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    user = serializers.CharField(source="user.username", read_only=True)
    active = serializers.BooleanField(source="is_active", read_only=True)

    class Meta:
        model = ApiKey
        fields: tuple[str, ...] = (
            "id",
            "name",
            "prefix",
            "user",
            "active",
            "created_at",
            "expires_at",
            "revoked_at",
            "last_used_at",
        )
        read_only_fields: tuple[str, ...] = fields


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(ApiKeySerializer.Meta):
        fields = (*ApiKeySerializer.Meta.fields, "key")
        read_only_fields = fields


class ApiKeyCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    name = serializers.CharField(max_length=100)
    user = serializers.CharField(
        required=False,
        help_text="Username the key belongs to: your own (keys for another person "
        "are created on the server with create_api_key).",
    )
    role = serializers.ChoiceField(
        choices=[r.value for r in Role],
        required=False,
        help_text="Or: the role whose service account the key belongs to.",
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("user")) == bool(attrs.get("role")):
            raise serializers.ValidationError("Give exactly one of user or role.")
        if attrs.get("user"):
            found = User.objects.filter(username=attrs["user"]).first()
            if found is None:
                raise serializers.ValidationError({"user": ["No such user."]})
            attrs["user_obj"] = found
        return attrs


class RevokeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
