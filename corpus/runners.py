"""The import_corpus job: import each file of the job (one ImportRun per file), reporting progress in bytes."""

import os
from pathlib import Path
from typing import Any

from jobs.models import ItemStatus, Job, JobItem
from jobs.runner import JobCancelled, JobContext, job_runner

from .actions import IMPORT_JOB, item_index
from .importers import import_path
from .models import ImportRun

ERRORS_IN_RESULT = 50


class ImportProblems(Exception):
    """Some files of the job had records rejected or could not be read; their items are marked failed."""


def file_size(path: str | Path) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


@job_runner(IMPORT_JOB, label="corpus import")
def run_import_corpus(ctx: JobContext) -> dict[str, Any]:
    """Import the job's pending files; a file with rejected records or an error fails its item (retry redoes it)."""
    files = ctx.params["files"]
    pending = list(ctx.pending_items())
    ctx.set_total(sum(file_size(files[item_index(item.key)]["path"]) for item in pending), unit="bytes")
    ctx.set_done(0)
    done = 0
    for item in pending:
        entry = files[item_index(item.key)]
        ctx.log(f"importing {entry['name']}")
        try:
            run = import_path(
                entry["path"], format=ctx.params.get("format"), split=ctx.params.get("split"), user=ctx.job.owner,
                ctx=ctx, name=entry["name"], progress_offset=done,
            )
        except JobCancelled:
            raise
        except Exception as exc:  # one unreadable file must not stop the others
            ctx.item_failed(item, f"{entry['name']}: {type(exc).__name__}: {exc}")
        else:
            settle_item(ctx, item, run)
        done += file_size(entry["path"])
        ctx.set_done(done)
    result = summarize(ctx.job)
    failed = ctx.item_counts()[ItemStatus.FAILED]
    if failed:
        ctx.job.result = result  # kept on the failed job, so its page shows what was imported and what was not
        raise ImportProblems(f"{failed} of {len(files)} file(s) had problems; fix them and retry the failed items.")
    return result


def settle_item(ctx: JobContext, item: JobItem, run: ImportRun) -> None:
    summary = {"import_run": run.pk, **run.summary()}
    ctx.log(
        f"{run.file_name}: {run.records_read:,} records, created {run.created or '{}'}, updated {run.updated or '{}'}, "
        f"{run.unchanged:,} unchanged, {run.rejected:,} rejected"
    )
    if run.has_problems:
        first = run.errors[0] if run.errors else None
        detail = f"; first: {format_error(first)}" if first else ""
        counts = f"{run.rejected:,} record(s) rejected, {run.error_count:,} error(s)"
        ctx.item_failed(item, f"{run.file_name}: {counts}{detail}")
        return
    ctx.item_succeeded(item, summary)


def format_error(error: dict[str, Any]) -> str:
    return f"{error['file']}:{error['line']}: {error['field']}: {error['reason']}"


def summarize(job: Job) -> dict[str, Any]:
    """Return the job's result: totals over the latest import of each file, and the first errors (capped)."""
    latest: dict[str, ImportRun] = {}
    for run in ImportRun.objects.filter(job=job).order_by("started_at", "pk"):
        latest[run.file_name] = run
    totals: dict[str, Any] = {
        "files": len(latest), "records_read": 0, "unchanged": 0, "rejected": 0, "skipped": 0, "created": {},
        "updated": {}, "normalizations": {}, "error_count": 0,
    }
    errors: list[dict[str, Any]] = []
    for run in latest.values():
        for name in ("records_read", "unchanged", "rejected", "skipped", "error_count"):
            totals[name] += getattr(run, name)
        for name in ("created", "updated", "normalizations"):
            for key, count in getattr(run, name).items():
                totals[name][key] = totals[name].get(key, 0) + count
        errors.extend(run.errors[: ERRORS_IN_RESULT - len(errors)])
    totals["errors"] = errors
    totals["errors_shown"] = len(errors)
    totals["import_runs"] = [run.pk for run in latest.values()]
    return totals
