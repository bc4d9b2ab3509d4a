"""{% object_history obj %}: an object's latest audit records, for its own page (leads and above)."""

from django import template
from django.urls import reverse

from alfa_platform.roles import Role, has_role
from audit.models import AuditRecord

register = template.Library()
SHOWN = 10


@register.inclusion_tag("audit/_history.html", takes_context=True)
def object_history(context, obj):
    user = context["request"].user
    if obj is None or obj.pk is None or not has_role(user, Role.LEAD):
        return {"records": [], "hidden": True}
    records = list(AuditRecord.objects.get_for_object(obj).select_related("content_type")
                   .order_by("-sequence")[: SHOWN + 1])
    label = f"{obj._meta.app_label}.{obj._meta.model_name}"
    return {
        "records": records[:SHOWN], "more": len(records) > SHOWN, "is_admin": has_role(user, Role.ADMIN),
        "trail_url": reverse("audit:trail") + f"?object_type={label}&object_id={obj.pk}",
    }
