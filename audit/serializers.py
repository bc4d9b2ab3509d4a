from rest_framework import serializers

from .models import AuditRecord, SoftDeletion


class AuditRecordSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="actor_username")
    event = serializers.CharField(source="what")
    object_type = serializers.CharField()
    object_id = serializers.CharField(source="object_pk")
    object = serializers.CharField(source="object_repr")
    details = serializers.JSONField(source="additional_data")

    class Meta:
        model = AuditRecord
        fields = ["id", "chain", "sequence", "timestamp", "user", "event", "object_type", "object_id", "object",
                  "changes", "details", "remote_addr", "previous_hash", "record_hash"]
        read_only_fields = fields


class SoftDeletionSerializer(serializers.ModelSerializer):
    object_type = serializers.CharField(source="content_type.model_class._meta.label_lower", read_only=True)
    deleted_by = serializers.CharField(source="deleted_by.username", read_only=True, default=None)
    restorable_until = serializers.DateTimeField(read_only=True)

    class Meta:
        model = SoftDeletion
        fields = ["id", "object_type", "object_id", "object_repr", "deleted_at", "deleted_by", "restorable_until"]
        read_only_fields = fields


class DeleteRequestSerializer(serializers.Serializer):
    object_type = serializers.CharField(max_length=200, help_text="annotation.campaign or dataversions.datasetversion")
    object_id = serializers.IntegerField(min_value=1)
