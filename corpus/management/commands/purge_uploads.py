"""manage.py purge_uploads: delete raw uploads whose import finished more than the retention period ago."""

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from corpus.retention import purge_uploads


class Command(BaseCommand):
    help = (
        "Delete raw upload folders under MEDIA_ROOT/imports/ once every import using them finished more than "
        "ALFA_UPLOAD_RETENTION_DAYS ago (beat runs this daily); import reports keep the files' sha256."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--days", type=int, default=None,
            help=f"retention in days (default: ALFA_UPLOAD_RETENTION_DAYS, {settings.ALFA_UPLOAD_RETENTION_DAYS})",
        )

    def handle(self, *args: Any, days: int | None, **options: Any) -> None:
        report = purge_uploads(retention_days=days)
        for name in report.deleted:
            self.stdout.write(f"deleted {name}")
        self.stdout.write(f"{len(report.deleted)} upload folder(s) deleted, {report.kept} kept.")
