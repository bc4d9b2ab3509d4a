"""Read-only admin views of datasets, versions and exports (versions are made and changed only by their jobs)."""

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from .models import Dataset, DatasetExport, DatasetVersion


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Dataset)
class DatasetAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "created_at")


@admin.register(DatasetVersion)
class DatasetVersionAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "status", "provenance", "row_count", "content_hash", "created_at")
    list_filter = ("status", "provenance")


@admin.register(DatasetExport)
class DatasetExportAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "status", "folder", "created_at")
