from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"

    def ready(self) -> None:
        # Registers run_job in every process, so that jobs.actions finds the task by name (it cannot import it).
        from . import tasks  # noqa: F401
