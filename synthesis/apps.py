"""App configuration of synthesis: registers its job runners in every process."""

from django.apps import AppConfig


class SynthesisConfig(AppConfig):
    name = "synthesis"
    verbose_name = "Synthesis"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import runners  # noqa: F401  (registers the synthesize, verify and build_pairs job kinds)
