"""Benchmark the quality dashboard on PostgreSQL for a campaign holding 100,000 judgments.

Usage:
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/alfa_annotation_bench \\
        .venv/bin/python bench/annotation_dashboard.py [--judgments 100000] [--repeats 3]

Builds (once; reused when present) a campaign of 20 annotators: 32,000 pairs over the six attributes judged by
three annotators each and 200 gold pairs judged by all twenty (100,000 judgments), with labels drawn from a
latent truth plus noise, then times: the quality computation cold (no snapshot: two queries, numpy, bootstrap
CIs with 1,000 resamples) and from its snapshot, the whole dashboard page (Django's handler, template and
all) with no snapshot, with an up-to-date snapshot and with a stale one (served at once while a background job
recomputes it), the background recomputation itself, and the page filtered to one attribute.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "platform"))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alfa_platform.settings")
from annotation_load import ATTRIBUTES, analyze, require_bench_database, setup_django  # noqa: E402

CAMPAIGN = "bench-dashboard-100k"
ANNOTATORS = 20
GOLD_ITEMS = 200


def build(judgments, seed=0):
    """Create the campaign with exactly `judgments` judgments through bulk inserts (no HTTP: this is set-up)."""
    from django.db import transaction

    from alfa_platform.roles import Role
    from alfa_platform.users import create_user_with_role
    from annotation.models import Assignment, Campaign, ComparisonItem, Judgment

    existing = Campaign.objects.filter(name=CAMPAIGN).first()
    if existing and existing.judgments.count() == judgments:
        return existing
    Campaign.objects.filter(name=CAMPAIGN).delete()
    rng = np.random.default_rng(seed)
    users = [create_user_with_role(f"dash{i:02d}", Role.ANNOTATOR) for i in range(ANNOTATORS)]
    regular = (judgments - GOLD_ITEMS * ANNOTATORS) // 3
    with transaction.atomic():
        campaign = Campaign.objects.create(name=CAMPAIGN, overlap=3, gold_rate=0.05, status="active")
        items = ComparisonItem.objects.bulk_create([
            ComparisonItem(campaign=campaign, external_id=f"d{i}", position=i, post_body="post",
                           question_a=f"A {i}", question_b=f"B {i}", attribute=ATTRIBUTES[i % len(ATTRIBUTES)],
                           is_gold=i >= regular, gold_choice="a" if i >= regular else "",
                           judge_choice=("a" if rng.random() < 0.7 else "b") if i % 2 == 0 else "",
                           active_count=3, submitted_count=3)
            for i in range(regular + GOLD_ITEMS)
        ], batch_size=5000)
        plan = []
        for item in items:
            raters = range(ANNOTATORS) if item.is_gold else rng.choice(ANNOTATORS, size=3, replace=False)
            truth = "a" if rng.random() < 0.6 else "b"
            for rater in raters:
                plan.append((item, users[int(rater)], truth if rng.random() < 0.75 else
                             ["a", "b", "tie", "both_bad"][rng.integers(0, 4)]))
        plan = plan[:judgments]
        assignments = Assignment.objects.bulk_create([
            Assignment(campaign=campaign, item=item, annotator=user, status="submitted",
                       left_is_a=bool(rng.integers(0, 2)), is_gold=item.is_gold)
            for item, user, _label in plan
        ], batch_size=5000)
        Judgment.objects.bulk_create([
            Judgment(assignment=assignment, campaign=campaign, item=item, annotator=user, attribute=item.attribute,
                     choice=label, side=_side(label, assignment.left_is_a), time_ms=int(rng.integers(3000, 60000)),
                     reasons=["unsafe"] if label == "both_bad" else [])
            for assignment, (item, user, label) in zip(assignments, plan, strict=True)
        ], batch_size=5000)
    analyze()
    return campaign


def _side(label, left_is_a):
    if label == "a":
        return "left" if left_is_a else "right"
    if label == "b":
        return "right" if left_is_a else "left"
    return "none"


def timed(function, repeats):
    values = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        values.append((time.perf_counter() - started) * 1000)
    return values


def describe(values):
    return f"median {statistics.median(values):.0f} ms, max {max(values):.0f} ms (n={len(values)})"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--judgments", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    require_bench_database()
    setup_django()
    from django.test import Client

    from alfa_platform.roles import Role
    from alfa_platform.users import create_user_with_role
    from annotation.models import Judgment, QualitySnapshot
    from annotation.quality import campaign_quality, refresh_quality

    started = time.perf_counter()
    campaign = build(args.judgments)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; "
          f"campaign ready in {time.perf_counter() - started:.1f} s with {campaign.judgments.count():,} judgments")

    def cold():
        QualitySnapshot.objects.filter(campaign=campaign).delete()
        campaign_quality(campaign)

    print(f"quality, cold (no snapshot: computed in the request): {describe(timed(cold, args.repeats))}")
    print(f"quality, up to date snapshot: {describe(timed(lambda: campaign_quality(campaign), args.repeats * 3))}")
    lead = create_user_with_role("dash_lead", Role.LEAD)
    client = Client()
    client.force_login(lead)
    url = f"/annotation/campaigns/{campaign.pk}/dashboard/"

    def page(suffix=""):
        response = client.get(url + suffix)
        assert response.status_code == 200, response.status_code
        return response

    def page_cold():
        QualitySnapshot.objects.filter(campaign=campaign).delete()
        page()

    extras = iter(Judgment.objects.filter(campaign=campaign).order_by("pk")[: args.repeats])

    def page_stale():
        # a judgment arrives after the snapshot: the page shows the snapshot and queues its refresh
        extra = next(extras)
        Judgment.objects.create(assignment_id=extra.assignment_id, campaign=campaign, item_id=extra.item_id,
                                annotator_id=extra.annotator_id, attribute="overall", choice="tie")
        response = page()
        assert b"refreshing" in response.content

    print(f"page, cold (no snapshot):      {describe(timed(page_cold, args.repeats))}")
    print(f"page, snapshot up to date:     {describe(timed(page, args.repeats * 3))}")
    print(f"page, stale snapshot (refresh queued in the background): {describe(timed(page_stale, args.repeats))}")
    Judgment.objects.filter(campaign=campaign, attribute="overall").delete()
    print(f"background refresh (the job's work): {describe(timed(lambda: refresh_quality(campaign), args.repeats))}")

    def one_attribute_cold():
        QualitySnapshot.objects.filter(campaign=campaign, attribute="clarity").delete()
        page("?attribute=clarity")

    print(f"page, one attribute, cold: {describe(timed(one_attribute_cold, args.repeats))}")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
