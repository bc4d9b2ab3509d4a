"""Serve a finished export: one of its files, or all of them as a zip (the page and the API both call this)."""

from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404

from .models import DatasetExport, ExportStatus
from .writers import ensure_zip


def export_download(export: DatasetExport, name: str = "") -> FileResponse:
    """Return the file `name` of a finished export, or the whole export as a zip; Http404 otherwise."""
    if export.status != ExportStatus.DONE:
        raise Http404("This export is not finished.")
    folder = Path(settings.VAR_DIR) / export.folder
    stem = f"{export.version.dataset.name}-v{export.version.number}"
    if name:
        if name not in export.manifest:
            raise Http404("No such file in this export.")
        return FileResponse(open(folder / name, "rb"), as_attachment=True, filename=f"{stem}-{name.replace('/', '-')}")
    return FileResponse(open(ensure_zip(folder, list(export.manifest)), "rb"), as_attachment=True,
                        filename=f"{stem}-{export.format}-{export.files}.zip")
