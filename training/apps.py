"""App configuration of training: registers its job runners (training runs, merges) in every process."""

from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = "Training"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import runners  # noqa: F401  (registers the training_run and model_merge job kinds)
