"""DRF permission classes of the jobs API beyond the plain role checks."""

from rest_framework.permissions import BasePermission

from alfa_platform.roles import Role, has_role


class MayCancelJob(BasePermission):
    """Staff reach the endpoint; the job itself admits its creator, leads and admins (Job.may_be_cancelled_by)."""

    message = "Only the job's creator, a lead or an admin may cancel it."

    def has_permission(self, request, view):
        return has_role(request.user, Role.ANNOTATOR)

    def has_object_permission(self, request, view, obj):
        return obj.may_be_cancelled_by(request.user)
