"""App configuration of dataversions: registers its job runners (freeze a version, export it) in every process."""

from django.apps import AppConfig


class DataversionsConfig(AppConfig):
    name = "dataversions"
    verbose_name = "Dataset versions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import runners  # noqa: F401  (registers the dataset_version and dataset_export job kinds)
