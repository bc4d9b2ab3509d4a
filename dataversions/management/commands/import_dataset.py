"""Import an external preference dataset as a version; the new version's id is the last line printed."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from dataversions.actions import DatasetError
from dataversions.imports import do_import_dataset


class Command(BaseCommand):
    help = "Import a TRL-format preference dataset (a datasets folder, Parquet or JSONL) as an external version."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("path", help="A file, a folder of train/validation/test files, or a datasets folder.")
        parser.add_argument("--name", required=True)

    def handle(self, path: str, name: str, **options: Any) -> None:
        try:
            version = do_import_dataset(path, name)
        except DatasetError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{version}: {version.row_count} rows imported, sha256 {version.content_hash}")
        self.stdout.write(str(version.pk))
