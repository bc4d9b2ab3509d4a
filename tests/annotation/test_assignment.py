"""The assignment life cycle: least-annotated first, overlap, never twice, sides, skip, undo, gold, quota."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alfa_platform.roles import Role
from annotation.assignment import (
    AssignmentError,
    Conflict,
    NotEligible,
    do_assign_next_item,
    do_expire_stale_assignments,
    do_skip_assignment,
    do_submit_assignment,
    do_undo_last_submission,
    previous_picks,
)
from annotation.models import Assignment, AssignmentStatus, CampaignMember, Choice, Judgment, Side

pytestmark = pytest.mark.django_db


def judge(assignment, pick="left", **extra):
    keys = assignment.campaign.judgment_keys_for(assignment.item.attribute)
    return do_submit_assignment(assignment, [{"attribute": key, "pick": pick, **extra} for key in keys], 1200)


def annotators(make_user, n):
    return [make_user(f"doc{i}", Role.ANNOTATOR) for i in range(n)]


def test_it_serves_the_least_annotated_item_first(make_campaign, make_user):
    docs = annotators(make_user, 3)
    campaign = make_campaign(n=3, annotators=docs, overlap=2)
    first = do_assign_next_item(campaign, docs[0])
    second = do_assign_next_item(campaign, docs[1])
    third = do_assign_next_item(campaign, docs[2])
    assert len({first.item_id, second.item_id, third.item_id}) == 3  # nobody doubles up while items are untouched


def test_it_returns_the_open_assignment_until_it_is_judged(make_campaign, annotator):
    campaign = make_campaign(n=3, annotators=[annotator])
    first = do_assign_next_item(campaign, annotator)
    assert do_assign_next_item(campaign, annotator).pk == first.pk
    judge(first)
    assert do_assign_next_item(campaign, annotator).pk != first.pk


def test_it_never_exceeds_the_overlap_nor_repeats_an_item(make_campaign, make_user):
    docs = annotators(make_user, 5)
    campaign = make_campaign(n=4, annotators=docs, overlap=2)
    served = {doc.pk: [] for doc in docs}
    while True:
        progressed = False
        for doc in docs:
            assignment = do_assign_next_item(campaign, doc)
            if assignment is not None:
                served[doc.pk].append(assignment.item_id)
                judge(assignment)
                progressed = True
        if not progressed:
            break
    for items in served.values():
        assert len(items) == len(set(items))
    per_item = {}
    for items in served.values():
        for item in items:
            per_item[item] = per_item.get(item, 0) + 1
    assert per_item == {item.pk: 2 for item in campaign.items.all()}
    assert Judgment.objects.count() == 8


def test_it_records_a_seeded_side_per_annotator_and_item(make_campaign, make_user):
    docs = annotators(make_user, 20)
    campaign = make_campaign(n=1, annotators=docs, overlap=20)
    campaign.seed = 20250219  # a fixed seed makes the sides reproducible
    campaign.save(update_fields=["seed"])
    sides = []
    for doc in docs:
        assignment = do_assign_next_item(campaign, doc)
        assert assignment.left_is_a == assignment.item.left_is_a_for(doc.pk)  # reproducible from the seed
        sides.append(assignment.left_is_a)
    assert len(set(sides)) == 2  # both sides occur across annotators (all alike: chance 2 in a million)


def test_it_stores_canonical_choice_and_the_side_clicked(make_campaign, annotator):
    campaign = make_campaign(n=2, annotators=[annotator])
    assignment = do_assign_next_item(campaign, annotator)
    judge(assignment, pick="left", strength="clearly", rationale="  more specific  ")
    judgment = Judgment.objects.get()
    expected = Choice.A if assignment.left_is_a else Choice.B
    assert (judgment.choice, judgment.side, judgment.strength) == (expected, Side.LEFT, "clearly")
    assert judgment.rationale == "more specific"
    assert Assignment.objects.get().duration_ms == 1200


def test_it_requires_reasons_for_both_unacceptable(make_campaign, annotator):
    campaign = make_campaign(n=1, annotators=[annotator])
    assignment = do_assign_next_item(campaign, annotator)
    with pytest.raises(AssignmentError, match="at least one reason"):
        judge(assignment, pick="both_bad")
    with pytest.raises(AssignmentError, match="only for 'both unacceptable'"):
        judge(assignment, pick="left", reasons=["unsafe"])
    judge(assignment, pick="both_bad", reasons=["unsafe", "leading"])
    assert Judgment.objects.get().reasons == ["unsafe", "leading"]


def test_it_requires_one_judgment_per_asked_attribute(make_campaign, annotator):
    campaign = make_campaign(n=1, annotators=[annotator], judgment_mode="both")
    assignment = do_assign_next_item(campaign, annotator)
    with pytest.raises(AssignmentError, match="clarity, overall"):
        do_submit_assignment(assignment, [{"attribute": "clarity", "pick": "left"}])
    judge(assignment, pick="tie")
    assert sorted(Judgment.objects.values_list("attribute", flat=True)) == ["clarity", "overall"]


def test_it_refuses_a_second_submit_of_the_same_assignment(make_campaign, annotator):
    campaign = make_campaign(n=2, annotators=[annotator])
    assignment = do_assign_next_item(campaign, annotator)
    judge(assignment)
    stale = Assignment.objects.get(pk=assignment.pk)
    stale.status = AssignmentStatus.ASSIGNED  # a second browser tab still thinks it is open
    with pytest.raises(Conflict):
        judge(stale)
    assert Judgment.objects.count() == 1
    assert CampaignMember.objects.get(user=annotator).done_count == 1


def test_it_gives_a_skipped_item_to_someone_else(make_campaign, annotator, second_annotator):
    campaign = make_campaign(n=1, annotators=[annotator, second_annotator], overlap=1)
    assignment = do_assign_next_item(campaign, annotator)
    do_skip_assignment(assignment, "outside_expertise", "dermatology")
    assert do_assign_next_item(campaign, annotator) is None  # never the same item twice, even after a skip
    other = do_assign_next_item(campaign, second_annotator)
    assert other.item_id == assignment.item_id
    assert Assignment.objects.get(pk=assignment.pk).skip_note == "dermatology"


def test_it_undoes_the_last_submission_and_keeps_the_retracted_judgments(make_campaign, annotator):
    campaign = make_campaign(n=3, annotators=[annotator])
    first = do_assign_next_item(campaign, annotator)
    judge(first, pick="left", rationale="first try")
    second = do_assign_next_item(campaign, annotator)
    reopened = do_undo_last_submission(campaign, annotator)
    assert reopened.pk == first.pk and reopened.status == AssignmentStatus.ASSIGNED
    assert previous_picks(reopened)["clarity"]["pick"] == "left"
    assert do_assign_next_item(campaign, annotator).pk == first.pk  # the undone item comes back first
    judge(reopened, pick="right")
    assert Judgment.objects.filter(retracted_at__isnull=True).get().side == Side.RIGHT
    assert Judgment.objects.filter(retracted_at__isnull=False).get().rationale == "first try"
    assert CampaignMember.objects.get(user=annotator).done_count == 1
    assert do_assign_next_item(campaign, annotator).pk == second.pk


def test_it_has_nothing_to_undo_at_the_start(make_campaign, annotator):
    campaign = make_campaign(n=1, annotators=[annotator])
    with pytest.raises(AssignmentError, match="nothing to undo"):
        do_undo_last_submission(campaign, annotator)


def test_it_interleaves_gold_items_at_the_campaign_rate(make_campaign, annotator):
    campaign = make_campaign(n=6, gold=2, annotators=[annotator], gold_rate=0.25)
    kinds = []
    while (assignment := do_assign_next_item(campaign, annotator)) is not None:
        kinds.append(assignment.is_gold)
        judge(assignment)
    assert kinds == [False, False, False, True, False, False, False, True]


def test_it_stops_at_the_quota(make_campaign, annotator):
    campaign = make_campaign(n=5, annotators=[annotator], items_per_annotator=2)
    for _ in range(2):
        judge(do_assign_next_item(campaign, annotator))
    assert do_assign_next_item(campaign, annotator) is None


def test_denies_uninvited_annotator_to_take_items(make_campaign, annotator, second_annotator, outsider):
    campaign = make_campaign(n=2, annotators=[annotator])
    with pytest.raises(NotEligible):
        do_assign_next_item(campaign, second_annotator)
    with pytest.raises(NotEligible):
        do_assign_next_item(campaign, outsider)


def test_allows_any_annotator_to_join_an_open_campaign(make_campaign, second_annotator):
    campaign = make_campaign(n=2, open_to_all=True)
    assert do_assign_next_item(campaign, second_annotator) is not None
    assert CampaignMember.objects.get(user=second_annotator).invited is False


def test_it_expires_abandoned_assignments_back_to_the_pool(make_campaign, annotator, second_annotator):
    campaign = make_campaign(n=1, annotators=[annotator, second_annotator], overlap=1)
    assignment = do_assign_next_item(campaign, annotator)
    Assignment.objects.filter(pk=assignment.pk).update(served_at=timezone.now() - timedelta(days=1))
    assert do_expire_stale_assignments(timedelta(hours=12)) == 1
    assert do_assign_next_item(campaign, second_annotator).item_id == assignment.item_id
    with pytest.raises(Conflict):
        judge(Assignment.objects.select_related("item", "campaign").get(pk=assignment.pk))
