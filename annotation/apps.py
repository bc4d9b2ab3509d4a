"""App configuration of the annotation app."""

from django.apps import AppConfig


class AnnotationConfig(AppConfig):
    name = "annotation"
    verbose_name = "Annotation"

    def ready(self) -> None:
        from . import runners  # noqa: F401  (registers the job kinds in every process)
