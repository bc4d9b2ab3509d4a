"""Dataset pages (leads): datasets and the new-version form, a version's card, counts, rows and diffs, exports."""

import json
from typing import Any, cast

import markdown
import nh3
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from alfa_platform.roles import Role, role_required
from corpus.rendering import SPEAKERS
from jobs.models import Job
from synthesis.models import Attribute, PairType

from . import downloads
from .actions import DatasetError, do_create_version, do_export_version
from .card import dataset_card
from .diffs import diff_versions
from .formats import FILE_TYPES, FORMATS, FormatError
from .forms import VersionForm, initial_from
from .models import Dataset, DatasetExport, DatasetRow, DatasetVersion, ExportStatus, VersionStatus
from .selection import SPLITS, SelectionError

ROWS_PER_PAGE = 50
ROW_COLUMNS = ("id", "qid", "split", "attribute", "pair_type")  # shown in a row's heading, not among its fields
ROW_FILTERS = ("split", "attribute", "pair_type")
CHAT_CLASS = {"user": "patient", "assistant": "doctor"}


lead_required = role_required(Role.LEAD)


def get_version(pk: int) -> DatasetVersion:
    return get_object_or_404(DatasetVersion.objects.select_related("dataset", "created_by", "job"), pk=pk)


def is_waiting(status: str, job: Job | None) -> bool:
    """Return whether a page should keep polling: the work is unfinished and its job can still finish it."""
    return status in (VersionStatus.BUILDING, ExportStatus.QUEUED, ExportStatus.RUNNING) and not (
        job is not None and job.is_finished)


# --- Datasets and the new-version form ---------------------------------------------------------------------------

@lead_required
def dataset_list(request: HttpRequest) -> HttpResponse:
    """Every dataset with its versions, and the form that creates a version from a filter."""
    if request.method == "POST":
        form = VersionForm(request.POST)
        if form.is_valid():
            try:
                version = do_create_version(form.cleaned_data["name"], form.config().to_dict(),
                                            cast(User, request.user),  # a lead: signed in
                                            form.cleaned_data["description"])
            except (SelectionError, DatasetError) as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"{version} is being built (job {version.job_id}).")
                # An explicit fragment, else the browser keeps the form's #new-version across the redirect.
                return redirect(version.get_absolute_url() + "#version-status")
    else:
        form = VersionForm(initial=initial_for_new_version(request.GET.get("from", "")))
    datasets = Dataset.objects.prefetch_related("versions")
    return render(request, "dataversions/dataset_list.html", {"datasets": datasets, "form": form})


def initial_for_new_version(source: str) -> dict:
    """Return the form's initial values: the defaults, or those of version `source` (?from=ID) to start from."""
    version = DatasetVersion.objects.select_related("dataset").filter(pk=int(source)).first() if (
        source.isascii() and source.isdigit()) else None
    if version is None or not version.selection:
        return {}
    return initial_from(version.selection, version.dataset.name, version.dataset.description)


@lead_required
def dataset_detail(request: HttpRequest, name: str) -> HttpResponse:
    dataset = get_object_or_404(Dataset, name=name)
    return render(request, "dataversions/dataset_detail.html", {
        "dataset": dataset, "versions": dataset.versions.select_related("created_by")})


# --- A version: status, counts, filter, lineage, card, exports ---------------------------------------------------

def bars(counts: dict, labels: dict | None = None) -> list[dict]:
    """Return one bar per key, its width relative to the largest count (the page draws them with CSS)."""
    top = max(counts.values(), default=0) or 1
    return [{"key": key, "label": (labels or {}).get(key, key), "n": n, "width": round(100 * n / top, 1)}
            for key, n in counts.items()]


def split_rank(split: str) -> int:
    return SPLITS.index(split) if split in SPLITS else len(SPLITS)


def count_charts(version: DatasetVersion) -> list[dict]:
    attribute_names = dict(Attribute.objects.values_list("key", "name"))
    charts = [("split", "Rows per split", {}), ("attribute", "Rows per attribute", attribute_names),
              ("pair_type", "Rows per pair type", dict(PairType.choices))]
    counts = dict(version.counts)
    if splits := counts.get("split"):  # train, validation, test as everywhere else, not alphabetically
        counts["split"] = dict(sorted(splits.items(), key=lambda kv: split_rank(kv[0])))
    return [{"name": name, "title": title, "bars": bars(counts[name], labels)}
            for name, title, labels in charts if counts.get(name)]


def agreement_rows(version: DatasetVersion) -> list[dict]:
    return [{"attribute": attribute, **entry,
             "percent": round(100 * entry["agrees"] / entry["judged"]) if entry["judged"] else None}
            for attribute, entry in (version.counts.get("agreement") or {}).items()]


def split_front_matter(card: str) -> tuple[str, str]:
    """Return a card's YAML header and its Markdown body (the header is shown as text, not as Markdown)."""
    if card.startswith("---\n") and (end := card.find("\n---\n", 4)) != -1:
        return card[4:end + 1], card[end + 5:]
    return "", card


def markdown_html(text: str) -> str:
    """Return Markdown as sanitized HTML, as the annotation guidelines are rendered."""
    html = markdown.markdown(text, extensions=["sane_lists", "tables"])
    return nh3.clean(html, link_rel="noopener noreferrer")


def export_choices(version: DatasetVersion) -> list[dict]:
    """Return every format a version of this kind exports to, with the file types each can be written as."""
    return [{"format": fmt, "files": FILE_TYPES if fmt.schema is not None else ("jsonl",)}
            for fmt in FORMATS.values() if fmt.kind == version.kind]


def shown_value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "—"
    return "—" if value in ("", None) else str(value)


@lead_required
def version_detail(request: HttpRequest, pk: int) -> HttpResponse:
    version = get_version(pk)
    context: dict[str, Any] = {"version": version, "exports": version.exports.select_related("job"),
               "waiting": is_waiting(version.status, version.job),
               "selection": [(key, shown_value(value)) for key, value in version.selection.items()]}
    if version.is_ready:
        header, body = split_front_matter(dataset_card(version))
        context |= {
            "card_header": header, "card_html": markdown_html(body), "charts": count_charts(version),
            "agreement": agreement_rows(version), "export_choices": export_choices(version),
            "source_jobs": version.source_jobs.order_by("pk"),
            "templates": version.templates.select_related("attribute").order_by("pk"),
            "campaigns": version.campaigns.order_by("name"),
        }
    return render(request, "dataversions/version_detail.html", context)


@lead_required
def version_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The status fragment a building version's page polls; once it is built, the whole page reloads."""
    version = get_version(pk)
    waiting = is_waiting(version.status, version.job)
    response = render(request, "dataversions/_version_status.html", {"version": version, "waiting": waiting})
    if not waiting:
        response["HX-Refresh"] = "true"
    return response


@lead_required
def version_card(request: HttpRequest, pk: int) -> HttpResponse:
    """The card as the README.md it is in every export."""
    version = get_version(pk)
    if not version.is_ready:
        raise Http404("The card comes when the version is built.")
    return HttpResponse(dataset_card(version), content_type="text/markdown; charset=utf-8")


@lead_required
@require_POST
def version_export(request: HttpRequest, pk: int) -> HttpResponseRedirect:
    """Start (or reuse) an export of the version in one format and file type, then show it."""
    version = get_version(pk)
    try:
        export = do_export_version(version, request.POST.get("format", ""), request.POST.get("files", ""),
                                   cast(User, request.user))  # a lead: signed in
    except (DatasetError, FormatError) as exc:
        messages.error(request, str(exc))
        return redirect(version)
    return redirect(export)


# --- Rows and diffs ----------------------------------------------------------------------------------------------

def message_list(value: Any) -> list[dict] | None:
    """Return chat messages ready to show, or None when the value is not a message list."""
    if not isinstance(value, list) or not all(isinstance(m, dict) and "role" in m for m in value):
        return None
    return [{"role": m["role"], "speaker": SPEAKERS.get(m["role"], m["role"]), "css": CHAT_CLASS.get(m["role"], ""),
             "content": m.get("content", "")} for m in value]


def shown_field(value: Any) -> str:
    if value is None:
        return "—"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=1)


def row_view(row: DatasetRow) -> dict:
    """Return a row as the page shows it: its prompt as a chat, chosen beside rejected, then every other field."""
    data = dict(row.data)
    prompt = message_list(data.get("prompt"))
    if prompt is not None:
        data.pop("prompt")
        data.pop("prompt_text", None)
    pair = (data.pop("chosen"), data.pop("rejected")) if {"chosen", "rejected"} <= data.keys() else None
    others = [(key, shown_field(value)) for key, value in data.items() if key not in ROW_COLUMNS]
    return {"row": row, "prompt": prompt, "pair": pair, "fields": others}


@lead_required
def version_rows(request: HttpRequest, pk: int) -> HttpResponse:
    """The version's rows, 50 a page, filtered by split, attribute, pair type and text in the row id."""
    version = get_version(pk)
    filters = {name: request.GET.get(name, "") for name in (*ROW_FILTERS, "q")}
    rows = version.rows.order_by("position")
    for name in ROW_FILTERS:
        if filters[name]:
            rows = rows.filter(**{name: filters[name]})
    if filters["q"]:
        rows = rows.filter(row_id__icontains=filters["q"])
    page = Paginator(rows, ROWS_PER_PAGE).get_page(request.GET.get("page"))
    labels = {"attribute": dict(Attribute.objects.values_list("key", "name")), "pair_type": dict(PairType.choices)}
    choices = {name: [(key, labels.get(name, {}).get(key, key)) for key in version.counts.get(name, {})]
               for name in ROW_FILTERS}
    return render(request, "dataversions/version_rows.html", {
        "version": version, "page": page, "rows": [row_view(row) for row in page], "filters": filters,
        "choices": choices})


def default_against(version: DatasetVersion) -> DatasetVersion | None:
    """Return the ready version this one is most naturally compared with: the previous one of its dataset."""
    return version.dataset.versions.filter(number__lt=version.number, status=VersionStatus.READY).order_by(
        "-number").first()


def count_changes(counts: dict) -> list[dict]:
    return [{"name": name, "rows": [{"key": key, "old": old, "new": new, "delta": new - old}
                                    for key, (old, new) in entries.items()]}
            for name, entries in counts.items() if entries]


@lead_required
def version_diff(request: HttpRequest, pk: int) -> HttpResponse:
    """Compare the version with another (by default the previous version of its dataset): rows and counts."""
    version = get_version(pk)
    others = DatasetVersion.objects.exclude(pk=version.pk).filter(status=VersionStatus.READY).select_related(
        "dataset").order_by("dataset__name", "-number")
    raw = request.GET.get("against", "")
    if not raw:
        against = default_against(version)
    else:
        against = others.filter(pk=int(raw)).first() if raw.isascii() and raw.isdigit() else None
    context: dict[str, Any] = {"version": version, "against": against, "same_dataset": [v for v in others if
                                                                      v.dataset_id == version.dataset_id],
               "other_datasets": [v for v in others if v.dataset_id != version.dataset_id],
               "not_found": bool(raw) and against is None}
    if against is not None and version.is_ready:
        diff = diff_versions(against, version)
        context |= {"diff": diff, "changes": count_changes(diff["counts"])}
    return render(request, "dataversions/version_diff.html", context)


# --- Exports -----------------------------------------------------------------------------------------------------

@lead_required
def export_detail(request: HttpRequest, pk: int) -> HttpResponse:
    export = get_object_or_404(DatasetExport.objects.select_related("version__dataset", "job"), pk=pk)
    return render(request, "dataversions/export_detail.html", {"export": export,
                                                                "waiting": is_waiting(export.status, export.job)})


@lead_required
def export_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The status fragment an unfinished export's page polls; once it ends, the whole page reloads."""
    export = get_object_or_404(DatasetExport.objects.select_related("version__dataset", "job"), pk=pk)
    waiting = is_waiting(export.status, export.job)
    response = render(request, "dataversions/_export_status.html", {"export": export, "waiting": waiting})
    if not waiting:
        response["HX-Refresh"] = "true"
    return response


@lead_required
def export_download(request: HttpRequest, pk: int) -> FileResponse:
    """Send one file of a finished export (?file=NAME), or the whole export as a zip."""
    export = get_object_or_404(DatasetExport.objects.select_related("version__dataset"), pk=pk)
    return downloads.export_download(export, request.GET.get("file", ""))
