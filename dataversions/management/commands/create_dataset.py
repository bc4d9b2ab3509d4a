"""Create a dataset version from a filter and freeze it; the new version's id is the last line printed."""

from dataclasses import MISSING, fields

from django.core.management.base import BaseCommand, CommandError

from dataversions.actions import DatasetError, do_create_version, run_job_here
from dataversions.models import DatasetKind, VersionStatus
from dataversions.selection import Selection, SelectionError


def csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def csv_ints(value: str) -> list[int]:
    try:
        return [int(part) for part in csv(value)]
    except ValueError as exc:
        raise CommandError("Give whole numbers, comma-separated.") from exc


def option_type(selection_field):
    """Return how a Selection field is read from the command line (its options come from the dataclass)."""
    if selection_field.name == "campaigns":
        return csv_ints
    if selection_field.default is not MISSING and isinstance(selection_field.default, tuple):
        return csv
    return int if selection_field.type in (int, "int") else str


class Command(BaseCommand):
    help = "Create a version of a dataset from a saved filter (frozen in this process; prints the version id last)."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="Dataset name (a slug); created when new.")
        parser.add_argument("--description", default="")
        parser.add_argument("--queue", action="store_true", help="Queue the freeze for a worker instead.")
        for selection_field in fields(Selection):
            default = selection_field.default
            shown = ",".join(default) if isinstance(default, tuple) else default
            parser.add_argument(
                "--" + selection_field.name.replace("_", "-"), type=option_type(selection_field),
                required=selection_field.name == "kind",
                choices=DatasetKind.values if selection_field.name == "kind" else Selection.CHOICES.get(
                    selection_field.name),
                help=f"{selection_field.metadata.get('help', '')} (default: {'none' if shown == '' else shown})")

    def handle(self, **o):
        selection = {f.name: o[f.name] for f in fields(Selection) if o[f.name] is not None}
        try:
            version = do_create_version(o["name"], selection, description=o["description"])
        except (SelectionError, DatasetError) as exc:
            raise CommandError(str(exc)) from exc
        if not o["queue"]:
            run_job_here(version.job)
        version.refresh_from_db()
        if version.status == VersionStatus.FAILED:
            raise CommandError(version.error)
        self.stdout.write(f"{version}: {version.get_status_display().lower()}, {version.row_count} rows, "
                          f"sha256 {version.content_hash or '-'}")
        self.stdout.write(str(version.pk))
