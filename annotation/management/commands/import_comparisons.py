"""Import comparison items (JSONL: context, question_a, question_b, attribute) into a campaign."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotation.actions import ImportRejected, do_import_items
from annotation.models import Campaign


class Command(BaseCommand):
    help = "Import comparison items from a JSONL file (plain or gzip) into a campaign; any bad row rejects the file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("campaign", help="Campaign id or name.")
        parser.add_argument("path", type=Path)

    def handle(self, campaign: str, path: Path, **options: Any) -> None:
        found = Campaign.objects.filter(pk=int(campaign)).first() if campaign.isdigit() else None
        found = found or Campaign.objects.filter(name=campaign).first()
        if found is None:
            raise CommandError(f"No campaign {campaign!r}.")
        try:
            report = do_import_items(found, path.read_bytes())
        except OSError as exc:
            raise CommandError(f"{path}: {exc}") from exc
        except ImportRejected as exc:
            for error in exc.errors:
                self.stderr.write(f"{path}: {error}")
            raise CommandError(f"{path}: {exc}") from exc
        self.stdout.write(f"{path}: {report.created} created ({report.gold} gold), {report.unchanged} unchanged.")
