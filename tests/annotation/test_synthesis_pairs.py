"""Campaigns from synthesis preference pairs: selection by attribute, type, verdict, split, ids; judge agreement."""

import pytest

from annotation.actions import do_create_campaign, do_set_campaign_status
from annotation.assignment import do_assign_next_item, do_submit_assignment
from annotation.models import Choice, ComparisonItem
from annotation.pairs import PairSelection, do_add_synthesis_pairs
from annotation.quality import campaign_quality
from corpus.models import Post, Question, Split, Thread
from synthesis.models import Attribute, Backend, Direction, PairType, PreferencePair, PromptTemplate, Rewrite, Verdict

pytestmark = pytest.mark.django_db


def rewrite(question, direction, text, attribute=None):
    template = PromptTemplate.objects.filter(attribute=attribute).first()
    return Rewrite.objects.create(question=question, attribute=attribute, direction=direction, text=text,
                                  template=template, model_name="gen-model", backend=Backend.TRANSFORMERS,
                                  generator_key=f"g-{text}", prompt_hash="h")


def make_pair(number, attribute_key="clarity", pair_type=PairType.ENHANCED_CORRUPTED, verdict=Verdict.ACCEPTED,
              split=Split.TEST):
    post = Post.objects.create(post_id=f"p{number}", title=f"Headache {number}", body="Throbbing, one side.",
                               author_pseudonym="a", split=split, content_hash="h")
    thread = Thread.objects.create(thread_id=f"t{number}", post=post, content_hash="h")
    question = Question.objects.create(qid=f"t{number}-c1-q0", thread=thread, text="Vision changes?",
                                       previous_turns=[{"question": "Age?", "patient_answer": "34"}],
                                       content_hash="h")
    attribute = Attribute.objects.get(key=attribute_key)
    original = rewrite(question, Direction.ORIGINAL, f"Vision changes? ({number})")
    better = rewrite(question, Direction.ENHANCE, f"Do you see zigzag lines before the pain? ({number})", attribute)
    worse = rewrite(question, Direction.CORRUPT, f"Eyes or whatever? ({number})", attribute)
    chosen, rejected = {PairType.ENHANCED_CORRUPTED: (better, worse), PairType.ENHANCED_ORIGINAL: (better, original),
                        PairType.ORIGINAL_CORRUPTED: (original, worse)}[pair_type]
    return PreferencePair.objects.create(
        question=question, attribute=attribute, pair_type=pair_type, chosen=chosen, rejected=rejected,
        chosen_text=chosen.text, rejected_text=rejected.text, verdict=verdict, judge_verdict=verdict,
        judge_model="judge-model", pair_id=f"{question.qid}_{attribute_key}_{pair_type}",
    )


@pytest.fixture
def pairs():
    return [
        make_pair(1), make_pair(2, verdict=Verdict.REJECTED), make_pair(3, attribute_key="focus"),
        make_pair(4, pair_type=PairType.ENHANCED_ORIGINAL), make_pair(5, split=Split.TRAIN),
        make_pair(6, verdict=Verdict.UNVERIFIED),
    ]


@pytest.fixture
def campaign(lead, annotator, second_annotator):
    return do_create_campaign(name="From pairs", created_by=lead, annotators=[annotator, second_annotator],
                              gold_rate=0.0, overlap=2)


def test_it_selects_pairs_by_attribute_type_verdict_and_split(campaign, pairs):
    selection = PairSelection(attributes=["clarity"], pair_types=[PairType.ENHANCED_CORRUPTED],
                              verdicts=[Verdict.ACCEPTED, Verdict.REJECTED], splits=[Split.TEST])
    assert do_add_synthesis_pairs(campaign, selection) == 2
    items = {item.pair_id: item for item in ComparisonItem.objects.filter(campaign=campaign)}
    assert set(items) == {pairs[0].pk, pairs[1].pk}
    item = items[pairs[0].pk]
    assert (item.question_a, item.question_b, item.attribute) == (pairs[0].chosen_text, pairs[0].rejected_text,
                                                                  "clarity")
    assert (item.source_a, item.source_b, item.split) == ("enhanced", "corrupted", "test")
    assert item.turns == [{"question": "Age?", "patient_answer": "34"}] and item.post_title == "Headache 1"
    assert (item.judge_choice, items[pairs[1].pk].judge_choice) == (Choice.A, Choice.B)
    assert do_add_synthesis_pairs(campaign, selection) == 0  # pairs already in the campaign are skipped
    campaign.refresh_from_db()
    assert campaign.item_count == 2 and campaign.selection["synthesis"][0]["added"] == 2


def test_it_selects_pairs_by_uploaded_ids(campaign, pairs):
    added = do_add_synthesis_pairs(campaign, PairSelection(ids=[str(pairs[2].pk), pairs[5].pair_id]))
    assert added == 2
    assert set(campaign.items.values_list("pair_id", flat=True)) == {pairs[2].pk, pairs[5].pk}
    assert campaign.items.get(pair=pairs[5]).judge_choice == ""  # an unverified pair has no judge answer


def test_allows_lead_to_add_pairs_through_the_api_as_a_job(campaign, pairs, lead, annotator, api_client_for,
                                                           django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the job is sent once the request's work commits
        response = api_client_for(lead).post(f"/api/annotation/campaigns/{campaign.pk}/add-pairs/",
                                             {"attributes": ["focus"]}, format="json")
    assert response.status_code == 202
    from jobs.models import Job

    job = Job.objects.get(pk=response.json()["job"])
    assert job.status == "succeeded" and job.result["added"] == 1
    denied = api_client_for(annotator).post(f"/api/annotation/campaigns/{campaign.pk}/add-pairs/", {},
                                            format="json")
    assert denied.status_code == 403


def test_it_measures_judge_expert_agreement_on_pair_verdicts(campaign, pairs, annotator, second_annotator):
    do_add_synthesis_pairs(campaign, PairSelection(attributes=["clarity"], pair_types=[PairType.ENHANCED_CORRUPTED],
                                                   splits=[Split.TEST]))
    do_set_campaign_status(campaign, "active")
    campaign.refresh_from_db()
    for user in (annotator, second_annotator):
        while (assignment := do_assign_next_item(campaign, user)) is not None:
            pick = "left" if assignment.left_is_a else "right"  # the experts prefer the chosen text every time
            do_submit_assignment(assignment, [{"attribute": "clarity", "pick": pick}])
    [row] = campaign_quality(campaign)["judge"]
    # judge accepted pair 1 (agrees with experts) and rejected pair 2 (disagrees); pair 6 has no verdict
    assert (row["attribute"], row["n"], row["agreement"]) == ("clarity", 2, 0.5)
