from auditlog.admin import LogEntryAdmin
from django.contrib import admin
from django.http import HttpRequest

from .models import AuditRecord

admin.site.unregister(AuditRecord)  # auditlog's admin registered it (it lets a cascade delete records)


@admin.register(AuditRecord)
class AuditRecordAdmin(LogEntryAdmin):
    """Read-only: records are appended by the platform and never changed or deleted, here or anywhere."""

    list_display = ["id", "chain", "sequence", "created", "resource_url", "event", "msg_short", "user_url"]
    list_filter = ["action", "event"]

    def has_delete_permission(self, request: HttpRequest, obj: AuditRecord | None = None) -> bool:
        return False
