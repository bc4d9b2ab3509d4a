"""The store contract: every AssignmentStore this database can run passes the assignment life cycle's tests.

The life-cycle tests of test_assignment.py, the refusals of test_campaign_state.py and the qualification rounds of
test_qualification.py run here once per store: the ORM store on every database, and PostgreSQL's store on
PostgreSQL (`make test` runs the suite on SQLite, `.ci/run` on PostgreSQL too). Every path to a store (the
do_* functions, the DRF actions, the lean views) asks annotation.sql for it, so replacing the database's store
there puts the whole request path on the store under test.
"""

import pytest
from django.core.management import call_command
from django.db import connection

from alfa_platform.backends import backend
from annotation.assignment import AssignmentStore, assignment_store
from annotation.models import Assignment, AssignmentStatus, CampaignMember, Judgment
from tests.annotation.test_assignment import *  # noqa: F403  (collected again here, once per store)
from tests.annotation.test_assignment import judge
from tests.annotation.test_campaign_state import (  # noqa: F401  (fixtures and helpers of the imported tests)
    test_it_accepts_work_again_once_the_campaign_is_resumed,
    test_it_refuses_submit_skip_and_undo_for_an_annotator_removed_from_the_campaign,
    test_it_refuses_submit_skip_and_undo_in_a_paused_or_closed_campaign,
    working,
)
from tests.annotation.test_qualification import (  # noqa: F401
    campaign,
    client_of,
    test_a_failed_round_refuses_real_items_until_a_lead_allows_a_retry,
    test_an_unqualified_annotator_gets_qualification_items_with_feedback_then_real_items,
)

pytestmark = pytest.mark.django_db


def _stores() -> list:
    stores = [pytest.param(AssignmentStore, id="orm")]
    if connection.vendor == "postgresql":
        from annotation.sql.postgresql import PostgresAssignmentStore

        stores.append(pytest.param(PostgresAssignmentStore, id="postgresql"))
    return stores


@pytest.fixture(autouse=True, params=_stores())
def store(request, monkeypatch):
    chosen = request.param()
    monkeypatch.setattr(backend("annotation.sql"), "assignment_store", lambda: chosen)
    return chosen


def test_every_path_uses_the_store_under_test(store):
    assert assignment_store() is store


def test_the_database_runs_its_own_store_by_default(monkeypatch):
    monkeypatch.undo()  # the store fixture's replacement
    expected = "PostgresAssignmentStore" if connection.vendor == "postgresql" else "AssignmentStore"
    assert type(assignment_store()).__name__ == expected


def test_its_counters_match_the_rows_it_wrote(store, make_campaign, annotator, second_annotator):
    made = make_campaign(n=4, annotators=[annotator, second_annotator], overlap=2)
    for user in (annotator, second_annotator):
        judge(store.next_item(made, user))
        following = store.submit_and_next(store.next_item(made, user),
                                          [{"attribute": "clarity", "pick": "right"}], 900)
        store.skip(following, "other", "  unsure  ")
        store.next_item(made, user)
    store.undo(made, annotator)
    for member in CampaignMember.objects.filter(campaign=made):
        mine = Assignment.objects.filter(campaign=made, annotator_id=member.user_id)
        assert member.served_count == mine.count()
        assert member.done_count == mine.filter(status=AssignmentStatus.SUBMITTED).count()
        assert member.skipped_count == mine.filter(status=AssignmentStatus.SKIPPED).count()
    for item in made.items.all():
        rows = Assignment.objects.filter(item=item)
        assert item.active_count == rows.filter(status__in=[AssignmentStatus.ASSIGNED,
                                                            AssignmentStatus.SUBMITTED]).count()
        assert item.submitted_count == rows.filter(status=AssignmentStatus.SUBMITTED).count()
    assert list(Assignment.objects.filter(skip_reason="other").values_list("skip_note", flat=True)) == ["unsure"] * 2
    assert Judgment.objects.filter(retracted_at__isnull=True).count() == 3  # 4 submitted, 1 undone


def test_its_submissions_keep_the_audit_chain_valid(store, make_campaign, annotator):
    made = make_campaign(n=3, annotators=[annotator])
    judge(store.next_item(made, annotator))
    store.submit_and_next(store.next_item(made, annotator), [{"attribute": "clarity", "pick": "tie"}])
    call_command("verify_audit")  # CommandError on a broken chain


def test_it_continues_what_another_store_began(store, make_campaign, annotator):
    """Both stores read and write the same rows: a server restarted on the other store loses nothing."""
    made = make_campaign(n=3, annotators=[annotator])
    served = AssignmentStore().next_item(made, annotator)
    assert store.next_item(made, annotator).pk == served.pk
    judge(store.fetch_own_assignment(annotator, served.pk))
    assert AssignmentStore().undo(made, annotator).pk == served.pk
    assert store.next_item(made, annotator).pk == served.pk  # the reopened one first
