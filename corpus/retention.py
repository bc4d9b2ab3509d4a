"""Delete raw uploads after the retention period: they hold forum usernames, the imported rows do not.

An upload folder (MEDIA_ROOT/imports/<uuid>/) named by import jobs goes once every such job has finished and the
last finished settings.ALFA_UPLOAD_RETENTION_DAYS ago; one no job names (an evaluation case-set file, snapshotted
when uploaded) goes that long after it was written. A queued or running import keeps its files. The import report
(ImportRun.file_sha256) keeps each file's hash.
"""

import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from jobs.models import FINISHED_STATUSES, Job

from .actions import IMPORT_JOB, uploads_root


@dataclass
class PurgeReport:
    deleted: list[str] = field(default_factory=list)  # folder names
    kept: int = 0


def jobs_by_folder(root: Path) -> dict[str, list[Job]]:
    """Map each upload folder name under root to the import jobs whose files lie in it."""
    found: dict[str, list[Job]] = {}
    for job in Job.objects.filter(kind=IMPORT_JOB).only("status", "finished_at", "params"):
        for entry in (job.params or {}).get("files") or []:
            path = Path(str(entry.get("path") or ""))
            if path.parent.parent == root:
                found.setdefault(path.parent.name, []).append(job)
    return found


def expired(jobs: list[Job], folder: Path, cutoff: datetime) -> bool:
    if not jobs:
        written = datetime.fromtimestamp(folder.stat().st_mtime, tz=timezone.get_current_timezone())
        return written <= cutoff
    return all(job.status in FINISHED_STATUSES and job.finished_at is not None and job.finished_at <= cutoff
               for job in jobs)


def purge_uploads(now: datetime | None = None, retention_days: int | None = None) -> PurgeReport:
    """Delete the upload folders past their retention; return what was deleted."""
    days = settings.ALFA_UPLOAD_RETENTION_DAYS if retention_days is None else retention_days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    root = uploads_root().resolve()
    report = PurgeReport()
    if not root.is_dir():
        return report
    owners = jobs_by_folder(root)
    for folder in sorted(root.iterdir()):
        if folder.is_symlink() or not folder.is_dir():
            continue
        if expired(owners.get(folder.name, []), folder, cutoff):
            shutil.rmtree(folder)
            report.deleted.append(folder.name)
        else:
            report.kept += 1
    return report
