"""Return abandoned open assignments to the pool so other annotators can take their items."""

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from annotation.assignment import do_expire_stale_assignments


class Command(BaseCommand):
    help = "Expire assignments served more than --hours ago and never submitted or skipped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--hours", type=float, default=12.0)

    def handle(self, hours: float, **options: Any) -> None:
        expired = do_expire_stale_assignments(timedelta(hours=hours))
        self.stdout.write(f"Expired {expired} assignment(s) older than {hours:g} h.")
