"""Assignment under real concurrency on PostgreSQL: 50 annotators at once, no item over its overlap, none twice."""

import threading
from collections import Counter

import pytest
from django.db import connection, connections
from django.db.models import Count, Q

from alfa_platform.roles import Role
from annotation.actions import do_create_campaign, do_import_items, do_set_campaign_status
from annotation.assignment import do_assign_next_item, do_submit_assignment
from annotation.models import Assignment, AssignmentStatus, ComparisonItem, Judgment
from tests.annotation.conftest import comparison_row, jsonl

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="needs PostgreSQL (row locks, SKIP LOCKED): run with DATABASE_URL=postgresql://..."),
]
ANNOTATORS = 50
ITEMS = 60
OVERLAP = 3


def run_threads(target, arguments):
    """Start one thread per argument behind a barrier so the first requests really collide; collect errors."""
    barrier = threading.Barrier(len(arguments))
    errors = []

    def work(argument):
        try:
            barrier.wait()
            target(argument)
        except Exception as exc:  # reported to the test thread, which fails on it
            errors.append(exc)
        finally:
            connections.close_all()  # each thread had its own connection

    threads = [threading.Thread(target=work, args=(argument,)) for argument in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return errors


@pytest.fixture
def crowd(transactional_db, lead, make_user):
    users = [make_user(f"physician{i:02d}", Role.ANNOTATOR) for i in range(ANNOTATORS)]
    campaign = do_create_campaign(name="Crowd", created_by=lead, annotators=users, overlap=OVERLAP, gold_rate=0.0)
    do_import_items(campaign, jsonl([comparison_row(i) for i in range(ITEMS)]))
    do_set_campaign_status(campaign, "active")
    campaign.refresh_from_db()
    return campaign, users


def test_it_never_exceeds_the_overlap_with_50_annotators_asking_at_once(crowd):
    campaign, users = crowd

    def annotate_until_done(user):
        while (assignment := do_assign_next_item(campaign, user)) is not None:
            do_submit_assignment(assignment, [{"attribute": "clarity", "pick": "left"}])

    assert run_threads(annotate_until_done, users) == []
    submitted = Assignment.objects.filter(campaign=campaign, status=AssignmentStatus.SUBMITTED)
    per_item = Counter(submitted.values_list("item_id", flat=True))
    assert len(per_item) == ITEMS and set(per_item.values()) == {OVERLAP}  # every item filled, none beyond
    pairs = list(Assignment.objects.values_list("item_id", "annotator_id"))
    assert len(pairs) == len(set(pairs)) == ITEMS * OVERLAP  # nobody got the same item twice
    assert Judgment.objects.filter(campaign=campaign).count() == ITEMS * OVERLAP
    counters = ComparisonItem.objects.annotate(
        real=Count("assignments", filter=Q(assignments__status__in=["assigned", "submitted"]))
    )
    assert all(item.active_count == item.real == item.submitted_count == OVERLAP for item in counters)


def test_it_serves_one_item_to_an_annotator_who_clicks_twice_at_once(crowd):
    campaign, users = crowd
    served = []
    assert run_threads(lambda _i: served.append(do_assign_next_item(campaign, users[0]).pk), range(8)) == []
    assert len(set(served)) == 1
    assert Assignment.objects.filter(annotator=users[0]).count() == 1


def test_it_holds_the_overlap_when_everyone_asks_for_the_first_item(crowd):
    campaign, users = crowd
    first = []
    assert run_threads(lambda user: first.append(do_assign_next_item(campaign, user).item_id), users) == []
    per_item = Counter(first)
    assert max(per_item.values()) <= OVERLAP and sum(per_item.values()) == ANNOTATORS
