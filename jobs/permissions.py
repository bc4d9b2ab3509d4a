"""DRF permission classes of the jobs API beyond the plain role checks."""

from typing import TYPE_CHECKING

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from alfa_platform.roles import Role, has_role

if TYPE_CHECKING:
    from rest_framework.views import APIView

    from .models import Job


class MayCancelJob(BasePermission):
    """Staff reach the endpoint; the job itself admits its creator, leads and admins (Job.may_be_cancelled_by)."""

    message = "Only the job's creator, a lead or an admin may cancel it."

    def has_permission(self, request: Request, view: "APIView") -> bool:
        return has_role(request.user, Role.ANNOTATOR)

    def has_object_permission(self, request: Request, view: "APIView", obj: "Job") -> bool:
        return obj.may_be_cancelled_by(request.user)
