"""The ALFA platform's Django project: settings, URLs, the Celery app and shared roles."""

from .celery import app as celery_app

__all__ = ["celery_app"]
