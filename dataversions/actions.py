"""Create versions, import external ones and export them: the one place views, the API and commands call."""


from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import Max

from jobs.actions import do_enqueue_job

from .building import NO_ROWS, has_candidate_rows
from .formats import get_format
from .models import Dataset, DatasetExport, DatasetVersion, ExportStatus, Provenance, VersionStatus
from .selection import Selection

if TYPE_CHECKING:
    from django.contrib.auth.models import User

VERSION_JOB = "dataset_version"
EXPORT_JOB = "dataset_export"


class DatasetError(ValueError):
    """A request that cannot make a version or an export; its message says what to change."""


def get_or_create_dataset(name: str, kind: str, user: "User | None" = None, description: str = "") -> Dataset:
    dataset = Dataset.objects.filter(name=name).first()
    if dataset is None:
        try:
            dataset = Dataset.objects.create(name=name, kind=kind, description=description, created_by=user)
        except IntegrityError as exc:
            raise DatasetError(f"A dataset named {name!r} already exists.") from exc
    elif dataset.kind != kind:
        raise DatasetError(f"Dataset {name} holds {dataset.kind} versions, not {kind}.")
    return dataset


def next_version(dataset: Dataset, user: "User | None", **fields: Any) -> DatasetVersion:
    number = (dataset.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    return DatasetVersion.objects.create(dataset=dataset, number=number, created_by=user, **fields)


def do_create_version(
    name: str, selection: dict, user: "User | None" = None, description: str = ""
) -> DatasetVersion:
    """Check the filter, then create the version (building) and queue the job that freezes its rows."""
    checked = Selection.from_dict(selection)
    if not has_candidate_rows(checked):
        raise DatasetError(NO_ROWS)
    with transaction.atomic():
        dataset = get_or_create_dataset(name, checked.kind, user, description)
        version = next_version(dataset, user, selection=checked.to_dict(), seed=checked.seed,
                               rendering=checked.rendering)
        version.job = do_enqueue_job(VERSION_JOB, {"version_id": version.pk}, owner=user)
        version.save(update_fields=["job"])
    return version


def do_create_external_version(
    name: str, kind: str, user: "User | None", source: dict, rendering: str
) -> DatasetVersion:
    dataset = get_or_create_dataset(name, kind, user)
    return next_version(dataset, user, provenance=Provenance.EXTERNAL, rendering=rendering,
                        lineage={"source": source})


def do_export_version(version: DatasetVersion, fmt: str, files: str, user: "User | None" = None) -> DatasetExport:
    """Queue an export of a ready version (an existing export of the same format and files is reused)."""
    if version.status != VersionStatus.READY:
        raise DatasetError(f"{version} is {version.get_status_display().lower()}; only a ready version exports.")
    export_format = get_format(fmt, version.kind, files)
    with transaction.atomic():
        export, created = DatasetExport.objects.get_or_create(
            version=version, format=export_format.name, files=files, defaults={"created_by": user})
        if created or export.status == ExportStatus.FAILED:
            export.status, export.error = ExportStatus.QUEUED, ""
            export.job = do_enqueue_job(EXPORT_JOB, {"export_id": export.pk}, owner=user)
            export.save(update_fields=["status", "error", "job"])
    return export
