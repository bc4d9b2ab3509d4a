from django.apps import AppConfig
from django.conf import settings


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .tracking import register_tracked_models

        if settings.AUDIT_ENABLED:
            register_tracked_models()
