"""App configuration of evaluation: registers its job runners in every process."""

from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "evaluation"
    verbose_name = "Evaluation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import runners  # noqa: F401  (registers the evaluate_interactive, generate_questions, evaluate_winrate kinds)
