"""Export a version in one format and file type into a folder (through the same job a worker runs)."""

import shutil
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dataversions.actions import DatasetError, do_export_version
from dataversions.formats import FILE_TYPES, FormatError
from dataversions.hub import HubError, push_export
from dataversions.models import DatasetVersion, ExportStatus
from jobs.runner import run_job_here


class Command(BaseCommand):
    help = "Export a dataset version: trl, trl-conversational, sft, judgments, mediq or authors; jsonl, parquet, hf."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("version", help="Version id, or NAME@vN.")
        parser.add_argument("--format", required=True)
        parser.add_argument("--files", default="jsonl", choices=FILE_TYPES)
        parser.add_argument("--out", required=True, help="Folder to copy the export into (created).")
        parser.add_argument("--push-to-hub", metavar="REPO", help="Also upload it to this Hub dataset repository "
                                                                  "(needs HF_TOKEN and a network).")

    def handle(self, version: str, **o: Any) -> None:
        found = find_version(version)
        try:
            export = do_export_version(found, o["format"], o["files"])
        except (DatasetError, FormatError) as exc:
            raise CommandError(str(exc)) from exc
        if export.job:
            run_job_here(export.job)
        export.refresh_from_db()
        if export.status != ExportStatus.DONE:
            raise CommandError(export.error or f"The export is {export.status}.")
        out = Path(o["out"])
        shutil.copytree(Path(settings.VAR_DIR) / export.folder, out, dirs_exist_ok=True)
        self.stdout.write(f"{export}: {len(export.manifest)} files")
        if o["push_to_hub"]:
            try:
                self.stdout.write(f"Pushed to {push_export(export, o['push_to_hub'])}")
            except HubError as exc:
                raise CommandError(f"Exported to {out}, but not pushed: {exc}") from exc
        self.stdout.write(str(out))


def find_version(value: str) -> DatasetVersion:
    versions = DatasetVersion.objects.select_related("dataset")
    name, _, number = value.partition("@v")
    found = (versions.filter(pk=int(value)) if value.isascii() and value.isdigit() else
             versions.filter(dataset__name=name, number=int(number)) if number.isascii() and number.isdigit()
             else versions.none()).first()
    if found is None:
        raise CommandError(f"No dataset version {value!r} (give its id or NAME@vN).")
    return found
