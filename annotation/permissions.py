"""Who may see what: permission-checked fetches shared by the pages and the API."""

from django.db.models import Q
from django.http import Http404

from alfa_platform.roles import Role, has_role

from .assignment import fetch_own_assignment
from .models import Campaign, CampaignStatus


def campaigns_for_user(user):
    """Return the campaigns a user may see: all for leads; for others, the ones they may annotate."""
    if has_role(user, Role.LEAD):
        return Campaign.objects.all()
    if not has_role(user, Role.ANNOTATOR):
        return Campaign.objects.none()
    member = Q(members__user=user, members__invited=True)
    visible = Q(status__in=[CampaignStatus.ACTIVE, CampaignStatus.PAUSED, CampaignStatus.CLOSED])
    return Campaign.objects.filter(visible & (member | Q(open_to_all=True))).distinct()


def get_campaign_for_user(user, pk):
    """Return a campaign the user may see, or raise Http404 (an annotator learns nothing about others)."""
    try:
        return campaigns_for_user(user).get(pk=pk)
    except (Campaign.DoesNotExist, ValueError) as exc:
        raise Http404("No such campaign.") from exc


def get_assignment_for_user(user, pk):
    """Return one of the user's own assignments (with its item and campaign), or raise Http404."""
    try:
        assignment = fetch_own_assignment(user, int(pk))
    except (TypeError, ValueError) as exc:
        raise Http404("No such assignment.") from exc
    if assignment is None:
        raise Http404("No such assignment.")
    return assignment
