"""The audit trail's pages (admins): the filtered trail, its CSV export, and restoring soft-deleted objects."""

import csv
import json
from collections.abc import Iterator

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from alfa_platform.auth_requests import as_user
from alfa_platform.roles import Role, role_required

from .filters import filtered_records, object_type_choices
from .models import AuditRecord, SoftDeletion
from .softdelete import SoftDeleteError, closing_changes, do_restore, do_soft_delete, live_object, retention

CSV_COLUMNS = ["id", "chain", "sequence", "timestamp", "user", "event", "object_type", "object_id", "object",
               "changes", "details", "remote_addr", "record_hash", "previous_hash"]


@role_required(Role.ADMIN)
def trail(request: HttpRequest) -> HttpResponse:
    form, records = filtered_records(request.GET)
    page = Paginator(records, 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "audit/trail.html", {
        "form": form, "page": page, "query": query.urlencode(), "object_types": object_type_choices(),
    })


class _Echo:
    """csv.writer's file: hands each written line back instead of buffering it."""

    def write(self, value: str) -> str:
        return value


def csv_rows(records: QuerySet[AuditRecord]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for record in records.iterator(chunk_size=2000):
        yield writer.writerow([
            record.pk, record.chain, record.sequence, record.timestamp.isoformat(), record.actor_username, record.what,
            record.object_type, record.object_pk, record.object_repr, json.dumps(record.changes, ensure_ascii=False),
            json.dumps(record.additional_data, ensure_ascii=False), record.remote_addr or "", record.record_hash,
            record.previous_hash,
        ])


@role_required(Role.ADMIN)
def trail_csv(request: HttpRequest) -> StreamingHttpResponse:
    """Stream the filtered trail as CSV, oldest first, however long it is."""
    _form, records = filtered_records(request.GET)
    response = StreamingHttpResponse(csv_rows(records.order_by("id")), content_type="text/csv")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-trail-{stamp}.csv"'
    return response


@role_required(Role.ADMIN)
def deleted_list(request: HttpRequest) -> HttpResponse:
    """What was soft-deleted and may still be restored, oldest first (the first to be purged)."""
    deletions = SoftDeletion.objects.select_related("content_type", "deleted_by").order_by("deleted_at")
    return render(request, "audit/deleted.html", {"deletions": deletions, "retention_days": retention().days})


@require_POST
@role_required(Role.ADMIN)
def restore(request: HttpRequest, pk: int) -> HttpResponseRedirect:
    deletion = get_object_or_404(SoftDeletion, pk=pk)
    try:
        obj = do_restore(deletion, as_user(request.user))
    except SoftDeleteError as exc:
        messages.error(request, str(exc))
        return redirect("audit:deleted")
    messages.success(request, f"{obj} restored.")
    return redirect(obj.get_absolute_url() if hasattr(obj, "get_absolute_url") else "audit:deleted")


@require_POST
@role_required(Role.LEAD)
def delete(request: HttpRequest, object_type: str, pk: int) -> HttpResponseRedirect:
    """Soft-delete a campaign or dataset version (leads); an admin may restore it within the retention period."""
    obj = live_object(object_type, pk)
    if obj is None:
        raise Http404("No such object.")
    do_soft_delete(obj, as_user(request.user), **closing_changes(obj))
    messages.success(request, f"{obj} deleted; an admin can restore it for {retention().days} days.")
    after = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(after, {request.get_host()}, require_https=request.is_secure())
    return redirect(after if safe else "home")
