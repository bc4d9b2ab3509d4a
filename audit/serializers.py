from rest_framework import serializers

from .models import AuditRecord


class AuditRecordSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="actor_username")
    event = serializers.CharField(source="what")
    object_type = serializers.CharField()
    object_id = serializers.CharField(source="object_pk")
    object = serializers.CharField(source="object_repr")
    details = serializers.JSONField(source="additional_data")

    class Meta:
        model = AuditRecord
        fields = ["sequence", "timestamp", "user", "event", "object_type", "object_id", "object", "changes",
                  "details", "remote_addr", "previous_hash", "record_hash"]
        read_only_fields = fields
