"""Create a dataset version from a filter and freeze it; the new version's id is the last line printed."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from dataversions.actions import DatasetError, do_create_version
from dataversions.models import VersionStatus
from dataversions.selection import Selection
from jobs.configs import ConfigError, add_config_arguments, config_from_options
from jobs.runner import run_job_here


class Command(BaseCommand):
    help = "Create a version of a dataset from a saved filter (frozen in this process; prints the version id last)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--name", required=True, help="Dataset name (a slug); created when new.")
        parser.add_argument("--description", default="", help="Shown on the dataset card; only for a new dataset.")
        parser.add_argument("--queue", action="store_true", help="Queue the freeze for a worker instead.")
        add_config_arguments(parser, Selection)

    def handle(self, **options: Any) -> None:
        try:
            selection = config_from_options(Selection, options)
            version = do_create_version(options["name"], selection.to_dict(), description=options["description"])
        except (ConfigError, DatasetError) as exc:
            raise CommandError(str(exc)) from exc
        if not options["queue"]:
            assert version.job is not None  # do_create_version queued its job
            run_job_here(version.job)
        version.refresh_from_db()
        if version.status == VersionStatus.FAILED:
            raise CommandError(version.error)
        self.stdout.write(f"{version}: {version.get_status_display().lower()}, {version.row_count} rows, "
                          f"sha256 {version.content_hash or '-'}")
        self.stdout.write(str(version.pk))
