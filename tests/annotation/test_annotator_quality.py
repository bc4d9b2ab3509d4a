"""Annotator quality: hidden-gold accuracy with alerts, pausing an annotator, excluding their judgments, intervals."""

import json
from math import sqrt

import numpy as np
import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from annotation.assignment import screen_pick
from annotation.models import Assignment, AssignmentStatus, CampaignMember, ComparisonItem, Judgment
from annotation.quality import (
    campaign_quality,
    compute_quality,
    disagreements,
    median_interval,
    share_bootstrap_interval,
    wilson_interval,
)
from dataversions.building import judgments_order, pair_majorities
from dataversions.selection import Selection

pytestmark = pytest.mark.django_db
API = "/api/annotation"
Z = 1.959963984540054  # the standard normal's 97.5% quantile


# --- Intervals against hand-computed values --------------------------------------------------------------------------


def hand_wilson(k, n):
    p = k / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return centre - half, centre + half


def test_the_wilson_interval_matches_the_formula():
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
    assert (low, high) == pytest.approx(hand_wilson(8, 10))
    assert wilson_interval(3, 12) == pytest.approx((0.0889, 0.5323), abs=1e-4)
    assert wilson_interval(0, 0) == (None, None)


def test_the_median_interval_is_the_order_statistic_interval():
    # n = 10: P(B <= 1) = 11/1024 <= 2.5% < P(B <= 2) = 56/1024, so the ranks are 2 and 9.
    assert median_interval(np.arange(1, 11)) == (5.5, 2.0, 9.0)
    # n = 20: P(B <= 5) = 0.0207 <= 2.5% < P(B <= 6) = 0.0577: ranks 6 and 15.
    assert median_interval(np.arange(20, 0, -1) * 10) == (105.0, 60.0, 150.0)
    # Under six values no rank gives 95% (P(B = 0) = 1/32 > 2.5%): the median alone.
    assert median_interval([3, 1, 2, 5, 4]) == (3.0, None, None)
    assert median_interval([]) == (None, None, None)


def test_the_share_bootstrap_interval_matches_the_binomial_quantiles():
    # Resampled shares of 20 agreements in 40 are Binomial(40, 1/2) / 40, whose 2.5% and 97.5% quantiles are 14 and
    # 26 (P(X <= 13) = 0.019 < 2.5% < P(X <= 14) = 0.040; P(X <= 25) = 0.960 < 97.5% < P(X <= 26) = 0.981).
    assert share_bootstrap_interval(20, 40, 20_000) == (0.35, 0.65)
    assert share_bootstrap_interval(10, 10, 1000) == (1.0, 1.0)
    assert share_bootstrap_interval(0, 0, 1000) == (None, None)


# --- Through the API -----------------------------------------------------------------------------------------------


def token_post(user, url, body=None):
    client = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


def judge_all(user, campaign, pick_for):
    """Judge every item served to the user; `pick_for(assignment)` gives the screen pick."""
    item = token_post(user, f"{API}/campaigns/{campaign.pk}/next/").json()["item"]
    while item is not None:
        assignment = Assignment.objects.select_related("item").get(pk=item["assignment"])
        body = {"judgments": [{"attribute": j["attribute"], "pick": pick_for(assignment), "time_ms": 1000}
                              for j in item["judgments"]], "duration_ms": 1000, "next": True}
        item = token_post(user, f"{API}/assignments/{item['assignment']}/submit/", body).json()["item"]


def gold_answer(assignment, right=True):
    """The screen pick matching the item's known answer (right) or its opposite."""
    if assignment.item.is_gold:
        pick = screen_pick(assignment.item.gold_choice, assignment.left_is_a)
        return pick if right else {"left": "right", "right": "left"}[pick]
    return screen_pick("a", assignment.left_is_a)


def test_a_lead_is_alerted_to_low_gold_accuracy_and_pauses_that_annotator(make_campaign, annotator,
                                                                         second_annotator, lead, api_client_for,
                                                                         client_for):
    campaign = make_campaign(n=6, gold=4, gold_rate=0.5, overlap=2, annotators=[annotator, second_annotator],
                             gold_alert_accuracy=0.7, gold_alert_min_judged=3)
    judge_all(annotator, campaign, lambda a: gold_answer(a, right=False))  # every gold item wrong
    judge_all(second_annotator, campaign, gold_answer)
    lead_api = api_client_for(lead)
    quality = lead_api.get(f"{API}/campaigns/{campaign.pk}/quality/").json()
    rows = {row["annotator"]: row for row in quality["annotators"]}
    bad, good = rows[annotator.username], rows[second_annotator.username]
    assert bad["gold_judged"] == 4 and bad["gold_accuracy"] == 0.0 and bad["alert"] is True
    assert (bad["gold_accuracy_low"], bad["gold_accuracy_high"]) == pytest.approx((0.0, hand_wilson(0, 4)[1]))
    assert bad["alert_reasons"][0].startswith("all attributes: 0% of 4")
    assert [entry["attribute"] for entry in bad["gold_by_attribute"]] == ["clarity"]
    assert good["gold_accuracy"] == 1.0 and good["alert"] is False
    assert [row["annotator"] for row in quality["alerts"]] == [annotator.username]

    page = client_for(lead).get(reverse("annotation:dashboard", args=[campaign.pk])).content.decode()
    assert 'id="gold-alerts"' in page and "all attributes: 0% of 4 gold judgments" in page

    # A higher minimum of gold judgments silences the alert at once (thresholds are read at every view).
    campaign.gold_alert_min_judged = 5
    campaign.save()
    assert not campaign_quality(campaign)["alerts"]


def test_a_paused_annotator_gets_no_items_and_their_open_item_returns_to_the_pool(make_campaign, annotator, lead,
                                                                                 api_client_for, client_for):
    campaign = make_campaign(n=3, annotators=[annotator], overlap=1)
    item = token_post(annotator, f"{API}/campaigns/{campaign.pk}/next/").json()["item"]
    url = f"{API}/campaigns/{campaign.pk}/members/{annotator.username}/"
    assert api_client_for(lead).post(url, {"paused": True}, format="json").json()["paused"] is True
    assert Assignment.objects.get(pk=item["assignment"]).status == AssignmentStatus.EXPIRED
    assert ComparisonItem.objects.get(assignments__pk=item["assignment"]).active_count == 0

    for client in ("token", "drf"):  # the lean view (PostgreSQL) and the DRF action
        if client == "token":
            refused = token_post(annotator, f"{API}/campaigns/{campaign.pk}/next/")
        else:
            refused = api_client_for(annotator).post(f"{API}/campaigns/{campaign.pk}/next/")
        assert refused.status_code == 409 and "paused your work" in refused.json()["detail"]
    assert api_client_for(annotator).post(f"{API}/campaigns/{campaign.pk}/undo/").status_code == 409
    assert Assignment.objects.filter(annotator=annotator).count() == 1

    members = api_client_for(lead).get(f"{API}/campaigns/{campaign.pk}/members/").json()
    assert members[0]["annotator"] == annotator.username and members[0]["paused"] is True
    page = client_for(lead).post(reverse("annotation:campaign-member", args=[campaign.pk,
                                                                             members_pk(campaign, annotator)]),
                                 {"change": "resume", "back": "dashboard"})
    assert page.status_code == 302 and page["Location"].endswith(f"/campaigns/{campaign.pk}/dashboard/")
    assert token_post(annotator, f"{API}/campaigns/{campaign.pk}/next/").json()["item"] is not None


def members_pk(campaign, user):
    return CampaignMember.objects.get(campaign=campaign, user=user).pk


def test_a_submit_racing_a_pause_is_refused(make_campaign, annotator, lead, api_client_for):
    campaign = make_campaign(n=2, annotators=[annotator], overlap=1)
    item = token_post(annotator, f"{API}/campaigns/{campaign.pk}/next/").json()["item"]
    # The pause lands between "next" and "submit" without expiring the item (as if the expiry had not run yet).
    CampaignMember.objects.filter(campaign=campaign, user=annotator).update(paused=True)
    body = {"judgments": [{"attribute": "clarity", "pick": "left"}], "next": True}
    refused = token_post(annotator, f"{API}/assignments/{item['assignment']}/submit/", body)
    assert refused.status_code == 409 and "paused your work" in refused.json()["detail"]
    skipped = api_client_for(annotator).post(f"{API}/assignments/{item['assignment']}/skip/", {"reason": "other"},
                                             format="json")
    assert skipped.status_code == 409 and "paused" in skipped.json()["detail"]
    assert not Judgment.objects.exists()


def test_excluding_an_annotator_leaves_their_judgments_out_of_agreement_adjudication_and_datasets(
        make_campaign, make_user, lead, api_client_for):
    raters = [make_user(f"rater{i}", "annotator") for i in range(4)]
    campaign = make_campaign(n=4, overlap=4, annotators=raters)
    for rater in raters[:3]:
        judge_all(rater, campaign, lambda a: screen_pick("a", a.left_is_a))
    judge_all(raters[3], campaign, lambda a: screen_pick("b", a.left_is_a))  # always against the others
    before = compute_quality(campaign, n_boot=100)
    assert before["agreement"][0]["percent_agreement"]["value"] < 1
    assert disagreements(campaign).count() == 4

    response = api_client_for(lead).post(f"{API}/campaigns/{campaign.pk}/members/{raters[3].username}/",
                                         {"excluded": True}, format="json")
    assert response.status_code == 200 and response.json()["excluded"] is True
    quality = api_client_for(lead).get(f"{API}/campaigns/{campaign.pk}/quality/").json()  # the snapshot is stale
    assert quality["agreement"][0]["percent_agreement"]["value"] == 1.0
    assert quality["judgments"] == 12 and quality["excluded_judgments"] == 4
    rows = {row["annotator"]: row for row in quality["annotators"]}
    assert rows[raters[3].username]["excluded"] is True
    assert rows[raters[3].username]["majority_agreement"] == 0.0  # still measured, against the counted others
    assert rows[raters[3].username]["majority_compared"] == 4
    assert rows[raters[0].username]["majority_agreement"] == 1.0
    assert (rows[raters[0].username]["majority_agreement_low"], rows[raters[0].username]["majority_agreement_high"]
            ) == (1.0, 1.0)
    assert disagreements(campaign).count() == 0
    assert Judgment.objects.filter(annotator=raters[3]).count() == 4  # kept, never deleted

    keys = judgments_order(Selection(kind="judgments", campaigns=[campaign.pk]), [])
    annotators = set(Judgment.objects.filter(pk__in=[pk for _, pk in keys]).values_list("annotator", flat=True))
    assert annotators == {raters[0].pk, raters[1].pk, raters[2].pk}
    assert pair_majorities([campaign.pk]) == {}  # these items carry no synthesis pair

    api_client_for(lead).post(f"{API}/campaigns/{campaign.pk}/members/{raters[3].username}/", {"excluded": False},
                              format="json")
    assert compute_quality(campaign, n_boot=100)["excluded_judgments"] == 0
    assert disagreements(campaign).count() == 4


def test_time_per_judgment_and_majority_intervals_through_the_api(make_campaign, make_user, lead, api_client_for):
    raters = [make_user(f"timer{i}", "annotator") for i in range(3)]
    campaign = make_campaign(n=10, overlap=3, annotators=raters)
    for rater in raters:
        judge_all(rater, campaign, lambda a: screen_pick("a", a.left_is_a))
    # Give the first rater's ten judgments 1..10 seconds.
    for seconds, judgment in enumerate(Judgment.objects.filter(annotator=raters[0]).order_by("pk"), start=1):
        Judgment.objects.filter(pk=judgment.pk).update(time_ms=seconds * 1000)
    quality = api_client_for(lead).get(f"{API}/campaigns/{campaign.pk}/quality/").json()
    row = next(row for row in quality["annotators"] if row["annotator"] == raters[0].username)
    assert (row["median_seconds"], row["median_seconds_low"], row["median_seconds_high"]) == (5.5, 2.0, 9.0)
    assert row["majority_agreement"] == 1.0 and row["majority_compared"] == 10
    assert (row["majority_agreement_low"], row["majority_agreement_high"]) == (1.0, 1.0)
    assert row["gold_judged"] == 0 and row["gold_accuracy_low"] is None


def test_only_leads_change_members(make_campaign, annotator, reviewer, api_client_for, client_for):
    campaign = make_campaign(n=1, annotators=[annotator])
    url = f"{API}/campaigns/{campaign.pk}/members/{annotator.username}/"
    for user in (annotator, reviewer):
        assert api_client_for(user).post(url, {"paused": True}, format="json").status_code == 403
        assert api_client_for(user).get(f"{API}/campaigns/{campaign.pk}/members/").status_code == 403
        page = client_for(user).post(reverse("annotation:campaign-member",
                                             args=[campaign.pk, members_pk(campaign, annotator)]), {"change": "pause"})
        assert page.status_code in (302, 403) and not CampaignMember.objects.get(user=annotator).paused
    assert not CampaignMember.objects.get(user=annotator).paused
    missing = api_client_for(campaign.created_by).post(f"{API}/campaigns/{campaign.pk}/members/nobody/",
                                                       {"paused": True}, format="json")
    assert missing.status_code == 404
