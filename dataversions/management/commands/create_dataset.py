"""Create a dataset version from a filter and freeze it; the new version's id is the last line printed."""

from django.core.management.base import BaseCommand, CommandError

from dataversions.actions import DatasetError, do_create_version, run_job_here
from dataversions.models import DatasetKind, VersionStatus
from dataversions.selection import SelectionError


def csv(value: str | None) -> list[str] | None:
    return [part.strip() for part in value.split(",") if part.strip()] if value is not None else None


class Command(BaseCommand):
    help = "Create a version of a dataset from a saved filter (frozen in this process; prints the version id last)."

    def add_arguments(self, parser):
        parser.add_argument("--kind", required=True, choices=DatasetKind.values)
        parser.add_argument("--name", required=True, help="Dataset name (a slug); created when new.")
        parser.add_argument("--description", default="")
        parser.add_argument("--attributes", help="Comma-separated attribute keys (default: all of the granularity).")
        parser.add_argument("--pair-types", help="Comma-separated: enhanced_corrupted, enhanced_original, ...")
        parser.add_argument("--granularity", choices=["fine", "coarse"])
        parser.add_argument("--verdict", choices=["filtered", "unfiltered"])
        parser.add_argument("--agreement", choices=["any", "agrees", "judged"])
        parser.add_argument("--campaigns", help="Comma-separated campaign ids (agreement, judgments).")
        parser.add_argument("--splits", help="Comma-separated: train, validation, test.")
        parser.add_argument("--sft-source", choices=["real", "synthetic"])
        parser.add_argument("--case-source", choices=["askdocs", "medqa", "all"])
        parser.add_argument("--rendering")
        parser.add_argument("--seed", type=int)
        parser.add_argument("--limit", type=int)
        parser.add_argument("--queue", action="store_true", help="Queue the freeze for a worker instead.")

    def handle(self, **o):
        try:
            campaigns = [int(c) for c in csv(o["campaigns"])] if o["campaigns"] is not None else None
        except ValueError as exc:
            raise CommandError("--campaigns takes campaign ids (whole numbers).") from exc
        selection = {"kind": o["kind"], "attributes": csv(o["attributes"]), "pair_types": csv(o["pair_types"]),
                     "granularity": o["granularity"], "verdict": o["verdict"], "agreement": o["agreement"],
                     "campaigns": campaigns, "splits": csv(o["splits"]), "sft_source": o["sft_source"],
                     "case_source": o["case_source"], "rendering": o["rendering"], "seed": o["seed"],
                     "limit": o["limit"]}
        try:
            version = do_create_version(o["name"], {k: v for k, v in selection.items() if v is not None},
                                        description=o["description"])
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
