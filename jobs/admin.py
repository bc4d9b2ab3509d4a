from django.contrib import admin

from .models import Job, JobItem


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "status", "queue", "owner", "progress_done", "progress_total", "created_at")
    list_filter = ("kind", "status", "queue")
    readonly_fields = ("created_at", "started_at", "finished_at", "heartbeat_at")


@admin.register(JobItem)
class JobItemAdmin(admin.ModelAdmin):
    list_display = ("job", "key", "status", "attempts", "updated_at")
    list_filter = ("status",)
    search_fields = ("key",)
