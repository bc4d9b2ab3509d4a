"""The audit trail's pages (admins): the filtered trail and its CSV export."""

import csv
import json

from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from alfa_platform.roles import Role, role_required

from .filters import filtered_records, object_type_choices

CSV_COLUMNS = ["sequence", "timestamp", "user", "event", "object_type", "object_id", "object", "changes",
               "details", "remote_addr", "record_hash", "previous_hash"]


@role_required(Role.ADMIN)
def trail(request):
    form, records = filtered_records(request.GET)
    page = Paginator(records, 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "audit/trail.html", {
        "form": form, "page": page, "query": query.urlencode(), "object_types": object_type_choices(),
    })


class _Echo:
    """csv.writer's file: hands each written line back instead of buffering it."""

    def write(self, value):
        return value


def csv_rows(records):
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for record in records.iterator(chunk_size=2000):
        yield writer.writerow([
            record.sequence, record.timestamp.isoformat(), record.actor_username, record.what, record.object_type,
            record.object_pk, record.object_repr, json.dumps(record.changes, ensure_ascii=False),
            json.dumps(record.additional_data, ensure_ascii=False), record.remote_addr or "", record.record_hash,
            record.previous_hash,
        ])


@role_required(Role.ADMIN)
def trail_csv(request):
    """Stream the filtered trail as CSV, oldest first, however long it is."""
    _form, records = filtered_records(request.GET)
    response = StreamingHttpResponse(csv_rows(records.order_by("sequence")), content_type="text/csv")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-trail-{stamp}.csv"'
    return response
