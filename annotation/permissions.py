"""Who may see what: permission-checked fetches shared by the pages and the API."""

from typing import Any

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.http import Http404

from alfa_platform.roles import Role, has_role

from .assignment import fetch_own_assignment
from .models import Assignment, AssignmentStatus, Campaign, CampaignMember, CampaignStatus, ComparisonItem


def campaigns_for_user(user: User) -> QuerySet[Campaign]:
    """Return the campaigns a user may see: all for leads; for others, the ones they may annotate."""
    if has_role(user, Role.LEAD):
        return Campaign.objects.all()
    if not has_role(user, Role.ANNOTATOR):
        return Campaign.objects.none()
    member = Q(members__user=user, members__invited=True)
    visible = Q(status__in=[CampaignStatus.ACTIVE, CampaignStatus.PAUSED, CampaignStatus.CLOSED])
    return Campaign.objects.filter(visible & (member | Q(open_to_all=True))).distinct()


def get_campaign_for_user(user: User, pk: int | str) -> Campaign:
    """Return a campaign the user may see, or raise Http404 (an annotator learns nothing about others)."""
    try:
        return campaigns_for_user(user).get(pk=pk)
    except (Campaign.DoesNotExist, ValueError) as exc:
        raise Http404("No such campaign.") from exc


def get_assignment_for_user(user: User, pk: int | str | None) -> Assignment:
    """Return one of the user's own assignments (with its item and campaign), or raise Http404."""
    try:
        assignment = fetch_own_assignment(user, int(pk))  # type: ignore[arg-type]  # None: the TypeError below
    except (TypeError, ValueError) as exc:
        raise Http404("No such assignment.") from exc
    if assignment is None:
        raise Http404("No such assignment.")
    return assignment


def judges_campaign(user: User, campaign: Campaign) -> bool:
    """Return whether the user annotates this campaign: an invited member, or one who joined it while open."""
    members = CampaignMember.objects.filter(campaign=campaign, user=user)
    return members.filter(Q(invited=True) | Q(campaign__open_to_all=True)).exists()


def items_judged_by(user: User, campaign: Campaign) -> QuerySet[Assignment, Any]:
    """Return the ids of the campaign's items the user is done with (submitted, skipped or expired: never served
    to them again)."""
    done = Assignment.objects.filter(campaign=campaign, annotator=user).exclude(status=AssignmentStatus.ASSIGNED)
    return done.values("item_id")


def get_item_for_reviewer(user: User, pk: int | str) -> ComparisonItem:
    """Return an item a reviewer may adjudicate, with its campaign, or raise Http404.

    The adjudication page shows question A and question B, and A is the pipeline's chosen question; a reviewer who
    also annotates the campaign would learn which side is which before judging it, so they see only the items
    they are done with (the same 404 as an item that does not exist).
    """
    item = ComparisonItem.objects.select_related("campaign").filter(pk=pk).first()
    if item is None:
        raise Http404("No such item.")
    if judges_campaign(user, item.campaign) and not items_judged_by(user, item.campaign).filter(item=item).exists():
        raise Http404("No such item.")
    return item
