"""manage.py purge_deleted: remove for good the campaigns and dataset versions soft-deleted past their retention."""

from typing import Any

from django.core.management.base import BaseCommand

from audit.softdelete import purge_expired


class Command(BaseCommand):
    help = "Delete for good what was soft-deleted more than ALFA_SOFT_DELETE_RETENTION_DAYS ago (beat runs it daily)."

    def handle(self, *args: Any, **options: Any) -> None:
        purged, kept = purge_expired()
        for name in purged:
            self.stdout.write(f"purged {name}")
        for reason in kept:
            self.stdout.write(f"kept {reason}")
        self.stdout.write(f"{len(purged)} purged, {len(kept)} kept")
