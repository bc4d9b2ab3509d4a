"""Job runners: freeze a version's rows, and write an export split by split (a retry keeps finished splits)."""

from typing import Any

from jobs.runner import JobContext, job_runner

from .actions import EXPORT_JOB, VERSION_JOB
from .building import freeze_version
from .formats import get_format
from .models import DatasetExport, DatasetVersion, ExportStatus, VersionStatus
from .writers import relative_to_var, version_splits, write_export


@job_runner(VERSION_JOB, label="dataset version")
def run_freeze_version(ctx: JobContext) -> dict:
    version = DatasetVersion.objects.select_related("dataset").get(pk=ctx.params["version_id"])

    def progress(done: int, total: int) -> None:
        ctx.job.progress_total = total
        ctx.set_done(done)

    ctx.set_total(0, "rows")
    try:
        freeze_version(version, progress)
    except Exception as exc:
        DatasetVersion.objects.filter(pk=version.pk).update(status=VersionStatus.FAILED, error=str(exc))
        raise
    ctx.log(f"{version}: {version.row_count} rows, sha256 {version.content_hash}")
    return {"version_id": version.pk, "rows": version.row_count, "content_hash": version.content_hash}


def export_done_splits(ctx: JobContext) -> dict:
    return {item.key: item.result for item in ctx.job.items.filter(status="succeeded")}


@job_runner(EXPORT_JOB, label="dataset export")
def run_export(ctx: JobContext) -> dict:
    export = DatasetExport.objects.select_related("version__dataset").get(pk=ctx.params["export_id"])
    version = export.version
    fmt = get_format(export.format, version.kind, export.files)
    splits = version_splits(version)
    ctx.ensure_items(splits)
    ctx.set_total(len(splits), "splits")
    DatasetExport.objects.filter(pk=export.pk).update(status=ExportStatus.RUNNING)
    done = export_done_splits(ctx)
    ctx.set_done(len(done))

    def on_split(split: str, entries: dict[str, Any]) -> None:
        ctx.item_succeeded(ctx.job.items.get(key=split), entries)
        ctx.advance()
        ctx.log(f"{split}: {sum(e['rows'] or 0 for e in entries.values())} rows")

    try:
        folder, manifest = write_export(version, fmt, export.files, done, on_split)
    except Exception as exc:
        DatasetExport.objects.filter(pk=export.pk).update(status=ExportStatus.FAILED, error=str(exc))
        raise
    DatasetExport.objects.filter(pk=export.pk).update(status=ExportStatus.DONE, folder=relative_to_var(folder),
                                                      manifest=manifest, error="")
    return {"export_id": export.pk, "files": len(manifest), "folder": relative_to_var(folder)}
