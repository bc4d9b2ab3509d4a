"""Campaign quality from stored judgments: agreement rows, bias, annotator accuracy, judge agreement, caching."""

import pytest

from alfa_platform.roles import Role
from annotation import agreement
from annotation.actions import do_create_campaign, do_import_items, do_set_campaign_status
from annotation.assignment import do_assign_next_item, do_submit_assignment, do_undo_last_submission
from annotation.models import Choice, Judgment
from annotation.quality import campaign_quality, disagreements
from tests.annotation.conftest import comparison_row, jsonl

pytestmark = pytest.mark.django_db


def pick_for(assignment, choice):
    if choice in (Choice.TIE, Choice.BOTH_BAD):
        return choice
    return "left" if (choice == Choice.A) == assignment.left_is_a else "right"


def run_campaign(lead, users, answers, rows, gold_rate=0.0):
    """Each user judges every item; `answers[user][external_id]` is the canonical choice."""
    campaign = do_create_campaign(name="Quality", created_by=lead, annotators=users, overlap=len(users),
                                  gold_rate=gold_rate)
    do_import_items(campaign, jsonl(rows))
    do_set_campaign_status(campaign, "active")
    campaign.refresh_from_db()
    for user in users:
        while (assignment := do_assign_next_item(campaign, user)) is not None:
            choice = answers[user.username][assignment.item.external_id]
            extra = {"reasons": ["unsafe"]} if choice == Choice.BOTH_BAD else {}
            do_submit_assignment(assignment, [{"attribute": assignment.item.attribute,
                                               "pick": pick_for(assignment, choice), "time_ms": 2000, **extra}])
    return campaign


@pytest.fixture
def three(make_user):
    return [make_user(name, Role.ANNOTATOR) for name in ("ann", "bob", "cat")]


def test_it_computes_agreement_per_attribute_from_stored_judgments(lead, three):
    rows = [comparison_row(i, attribute="clarity" if i < 6 else "focus") for i in range(10)]
    answers = {
        "ann": {f"pair-{i}": Choice.A for i in range(10)},
        "bob": {f"pair-{i}": Choice.A if i % 3 else Choice.B for i in range(10)},
        "cat": {f"pair-{i}": Choice.A if i % 4 else Choice.TIE for i in range(10)},
    }
    campaign = run_campaign(lead, three, answers, rows)
    quality = campaign_quality(campaign)
    by_key = {row["attribute"]: row for row in quality["agreement"]}
    assert set(by_key) == {"clarity", "focus", "all"}
    clarity = [(i, user, answers[user][f"pair-{i}"]) for i in range(6) for user in answers]
    expected = agreement.summarize(clarity, categories=[Choice.A, Choice.B, Choice.TIE, Choice.BOTH_BAD])
    assert by_key["clarity"]["krippendorff_alpha"]["value"] == pytest.approx(expected["krippendorff_alpha"].value)
    assert by_key["clarity"]["percent_agreement"]["value"] == pytest.approx(expected["percent_agreement"].value)
    assert (by_key["clarity"]["items"], by_key["clarity"]["judgments"]) == (6, 18)
    assert by_key["all"]["judgments"] == 30
    annotators = {row["annotator"]: row for row in quality["annotators"]}
    assert annotators["ann"]["judgments"] == 10 and annotators["ann"]["median_seconds"] == 2.0
    assert annotators["ann"]["majority_agreement"] == 1.0  # whenever bob and cat agree, they agree with ann


def test_it_scores_gold_items_and_judge_agreement(lead, three):
    rows = [comparison_row(0, judge="a"), comparison_row(1, judge="b"), comparison_row(2, gold="a")]
    answers = {name: {"pair-0": Choice.A, "pair-1": Choice.A, "pair-2": Choice.A} for name in ("ann", "bob")}
    answers["cat"] = {"pair-0": Choice.A, "pair-1": Choice.A, "pair-2": Choice.B}
    campaign = run_campaign(lead, three, answers, rows, gold_rate=0.34)  # the third item served is gold
    quality = campaign_quality(campaign)
    gold = {row["annotator"]: row["gold_accuracy"] for row in quality["annotators"]}
    assert gold == {"ann": 1.0, "bob": 1.0, "cat": 0.0}
    assert quality["judge"] == [{"attribute": "clarity", "name": "Clarity", "n": 2, "agreement": 0.5,
                                 "kappa": quality["judge"][0]["kappa"]}]
    clarity_items = {row["attribute"]: row["items"] for row in quality["agreement"]}
    assert clarity_items == {"clarity": 2}  # gold items stay out of the agreement statistics


def test_it_counts_left_choices_per_annotator(lead, make_user):
    users = [make_user("lefty", Role.ANNOTATOR)]
    rows = [comparison_row(i) for i in range(12)]
    campaign = do_create_campaign(name="Bias", created_by=lead, annotators=users, overlap=1, gold_rate=0.0)
    do_import_items(campaign, jsonl(rows))
    do_set_campaign_status(campaign, "active")
    campaign.refresh_from_db()
    while (assignment := do_assign_next_item(campaign, users[0])) is not None:
        do_submit_assignment(assignment, [{"attribute": "clarity", "pick": "left"}])
    [row] = [row for row in campaign_quality(campaign)["position_bias"] if row["attribute"] == "all"]
    assert (row["left"], row["right"], row["share_left"], row["flagged"]) == (12, 0, 1.0, True)
    assert row["p_value"] == pytest.approx(2 / 2**12)


def test_it_recomputes_after_a_new_judgment_or_an_undo(lead, three):
    rows = [comparison_row(i) for i in range(3)]
    answers = {name: {f"pair-{i}": Choice.A for i in range(3)} for name in ("ann", "bob", "cat")}
    campaign = run_campaign(lead, three, answers, rows)
    assert campaign_quality(campaign)["judgments"] == 9
    do_undo_last_submission(campaign, three[0])
    assert campaign_quality(campaign)["judgments"] == 8
    assert campaign_quality(campaign, "focus")["judgments"] == 0


def test_it_lists_only_unresolved_disagreements(lead, three, reviewer):
    from annotation.actions import do_adjudicate

    rows = [comparison_row(i) for i in range(3)]
    answers = {"ann": {f"pair-{i}": Choice.A for i in range(3)}, "bob": {f"pair-{i}": Choice.A for i in range(3)},
               "cat": {"pair-0": Choice.B, "pair-1": Choice.A, "pair-2": Choice.TIE}}
    campaign = run_campaign(lead, three, answers, rows)
    open_items = {row["item_id"] for row in disagreements(campaign)}
    items = {item.external_id: item for item in campaign.items.all()}
    assert open_items == {items["pair-0"].pk, items["pair-2"].pk}
    do_adjudicate(items["pair-0"], "clarity", Choice.A, "A is specific.", reviewer)
    assert {row["item_id"] for row in disagreements(campaign)} == {items["pair-2"].pk}
    assert Judgment.objects.filter(item=items["pair-0"], retracted_at__isnull=True).count() == 3


def test_it_serves_a_large_campaigns_last_snapshot_and_refreshes_it_in_the_background(
        lead, three, settings, django_capture_on_commit_callbacks):
    from jobs.models import Job

    settings.ANNOTATION_ASYNC_QUALITY_JUDGMENTS = 1  # every campaign counts as large here
    rows = [comparison_row(i) for i in range(4)]
    answers = {name: {f"pair-{i}": Choice.A for i in range(4)} for name in ("ann", "bob", "cat")}
    campaign = run_campaign(lead, three, answers, rows)
    first = campaign_quality(campaign, allow_stale=True)
    assert (first["judgments"], first["stale"]) == (12, False)  # no snapshot yet: computed at once
    do_undo_last_submission(campaign, three[2])
    with django_capture_on_commit_callbacks(execute=True):
        stale = campaign_quality(campaign, allow_stale=True)
    assert (stale["judgments"], stale["stale"]) == (12, True)  # the old numbers, at once
    job = Job.objects.get(kind="annotation_quality")
    assert job.status == "succeeded" and job.result["judgments"] == 11
    fresh = campaign_quality(campaign, allow_stale=True)
    assert (fresh["judgments"], fresh["stale"]) == (11, False)
