from rest_framework import serializers


class MeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    username = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    level = serializers.IntegerField(allow_null=True)
    permissions = serializers.ListField(child=serializers.CharField())
    auth = serializers.ChoiceField(choices=["api_key", "session"])
