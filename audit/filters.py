"""The trail's filters (user, object type and id, time range), shared by the page, the CSV export and the API."""

from typing import Any, cast

from django import forms
from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.http import QueryDict

from .models import AuditRecord


def object_type_choices() -> list[tuple[str, str]]:
    """The object types the trail holds records of, as (app_label.model, its verbose name)."""
    used = AuditRecord.objects.order_by().values_list("content_type_id", flat=True).distinct()
    types = ContentType.objects.filter(pk__in=used).order_by("app_label", "model")
    return [("", "any"), *((f"{ct.app_label}.{ct.model}", f"{ct.app_label} · {ct.name}") for ct in types)]


class TrailFilterForm(forms.Form):
    user = forms.CharField(required=False, max_length=150, help_text="The acting user's username.")
    object_type = forms.CharField(required=False, max_length=200)
    object_id = forms.CharField(required=False, max_length=255)
    since = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    until = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))

    def clean_object_type(self) -> ContentType | None:
        label = self.cleaned_data["object_type"].strip().lower()
        if not label:
            return None
        app_label, _, model = label.partition(".")
        content_type = ContentType.objects.filter(app_label=app_label, model=model).first()
        if content_type is None:
            raise forms.ValidationError("No such object type; use app.model, e.g. annotation.campaign.")
        return content_type

    def clean(self) -> dict[str, Any]:
        cleaned = cast(dict[str, Any], super().clean())  # a Form's clean returns its cleaned_data
        if cleaned.get("object_id") and not cleaned.get("object_type"):
            self.add_error("object_id", "Choose the object's type too.")
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", "The end of the range is before its start.")
        return cleaned

    def filter(self, records: QuerySet[AuditRecord]) -> QuerySet[AuditRecord]:
        """Return the records matching the valid filters (call after is_valid())."""
        data = self.cleaned_data
        if data.get("user"):
            records = records.filter(actor_username=data["user"].strip())
        if data.get("object_type"):
            records = records.filter(content_type=data["object_type"])
        if data.get("object_id"):
            records = records.filter(object_pk=data["object_id"].strip())
        if data.get("since"):
            records = records.filter(timestamp__gte=data["since"])
        if data.get("until"):
            records = records.filter(timestamp__lte=data["until"])
        return records


def filtered_records(params: QueryDict) -> tuple[TrailFilterForm, QuerySet[AuditRecord]]:
    """Return the bound form and the records it selects (none when a filter is invalid)."""
    form = TrailFilterForm(params)
    records = AuditRecord.objects.select_related("content_type")
    return form, (form.filter(records) if form.is_valid() else records.none())
