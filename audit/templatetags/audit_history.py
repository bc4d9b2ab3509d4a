"""{% object_history obj %}: an object's latest audit records on its page; {% delete_button obj %} (leads)."""

from typing import Any

from django import template
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.urls import reverse

from alfa_platform.roles import Role, has_role
from audit.models import AuditRecord
from audit.softdelete import retention

register = template.Library()
SHOWN = 10


@register.inclusion_tag("audit/_history.html", takes_context=True)
def object_history(context: template.Context, obj: models.Model | None) -> dict[str, Any]:
    user = context["request"].user
    if obj is None or obj.pk is None or not has_role(user, Role.LEAD):
        return {"records": [], "hidden": True}
    records = list(AuditRecord.objects.filter(content_type=ContentType.objects.get_for_model(obj),
                                              object_pk=str(obj.pk)).select_related("content_type")
                   .order_by("-id")[: SHOWN + 1])
    label = f"{obj._meta.app_label}.{obj._meta.model_name}"
    return {
        "records": records[:SHOWN], "more": len(records) > SHOWN, "is_admin": has_role(user, Role.ADMIN),
        "trail_url": reverse("audit:trail") + f"?object_type={label}&object_id={obj.pk}",
    }


@register.inclusion_tag("audit/_delete_button.html", takes_context=True)
def delete_button(context: template.Context, obj: models.Model | None, next_url: str = "") -> dict[str, Any]:
    """A lead's soft-delete button for a campaign or dataset version; `next_url` is where to go afterwards."""
    request = context["request"]
    if obj is None or obj.pk is None or not has_role(request.user, Role.LEAD):
        return {"shown": False}
    return {
        "shown": True, "csrf_token": context.get("csrf_token"), "next": next_url, "retention_days": retention().days,
        "noun": obj._meta.verbose_name, "action": reverse("audit:delete", args=[obj._meta.label_lower, obj.pk]),
    }
