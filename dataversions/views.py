"""Dataset pages (leads): datasets and versions, a version's card and counts, exports and their downloads."""

from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render

from alfa_platform.roles import Role, require_role

from .card import dataset_card
from .models import Dataset, DatasetExport, DatasetVersion, ExportStatus
from .writers import ensure_zip


def lead_only(view):
    def wrapped(request, *args, **kwargs):
        require_role(request.user, Role.LEAD)
        return view(request, *args, **kwargs)

    wrapped.__name__, wrapped.__doc__ = view.__name__, view.__doc__
    return wrapped


@lead_only
def dataset_list(request):
    datasets = Dataset.objects.prefetch_related("versions")
    return render(request, "dataversions/dataset_list.html", {"datasets": datasets})


@lead_only
def dataset_detail(request, name):
    dataset = get_object_or_404(Dataset, name=name)
    return render(request, "dataversions/dataset_detail.html", {"dataset": dataset,
                                                                 "versions": dataset.versions.all()})


@lead_only
def version_detail(request, pk):
    version = get_object_or_404(DatasetVersion.objects.select_related("dataset", "created_by", "job"), pk=pk)
    return render(request, "dataversions/version_detail.html", {
        "version": version, "card": dataset_card(version) if version.is_ready else "",
        "exports": version.exports.select_related("job")})


@lead_only
def export_detail(request, pk):
    export = get_object_or_404(DatasetExport.objects.select_related("version__dataset", "job"), pk=pk)
    return render(request, "dataversions/export_detail.html", {"export": export})


@lead_only
def export_download(request, pk):
    """Send one file of a finished export (?file=NAME), or the whole export as a zip."""
    export = get_object_or_404(DatasetExport.objects.select_related("version__dataset"), pk=pk)
    if export.status != ExportStatus.DONE:
        raise Http404("This export is not finished.")
    folder = Path(settings.VAR_DIR) / export.folder
    name = request.GET.get("file")
    if name:
        if name not in export.manifest:
            raise Http404("No such file in this export.")
        return FileResponse(open(folder / name, "rb"), as_attachment=True,
                            filename=f"{export.version.dataset.name}-v{export.version.number}-{name.replace('/', '-')}")
    path = ensure_zip(folder, list(export.manifest))
    return FileResponse(open(path, "rb"), as_attachment=True, filename=f"{export.version.dataset.name}-v"
                        f"{export.version.number}-{export.format}-{export.files}.zip")
