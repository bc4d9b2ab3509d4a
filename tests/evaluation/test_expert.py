"""The expert check: a stratified seeded sample, a blinded campaign of the two runs' questions, and the experts'
win-rate and judge-expert kappa against hand-computed values."""

import pytest

from annotation.models import Assignment, Campaign, Choice, Judgment
from corpus.models import Question, Split
from evaluation.actions import EvaluationError, do_start_expert_check
from evaluation.configs import ExpertCheckConfig
from evaluation.expert import expert_check_metrics, stratified_sample
from evaluation.models import EvaluationRun, GeneratedQuestion, PairwiseVerdict, RunKind
from evaluation.results import leaderboard
from tests.synthesis.conftest import make_question

pytestmark = pytest.mark.django_db


@pytest.fixture
def questions(db):
    made = [make_question(n, split=Split.TEST) for n in range(1, 11)]
    Question.objects.filter(pk__in=[q.pk for q in made[:6]]).update(question_type="symptom")
    Question.objects.filter(pk__in=[q.pk for q in made[6:]]).update(question_type="history")
    return list(Question.objects.order_by("qid"))


def generation(name, questions, text):
    run = EvaluationRun.objects.create(kind=RunKind.GENERATION, model_name=name, finished_at="2026-01-01T00:00Z")
    GeneratedQuestion.objects.bulk_create([GeneratedQuestion(
        run=run, question=q, qid=q.qid, text=f"{text} ({q.qid})?", model_name=name, backend="transformers", seed=0,
        rendering="thread-v1", prompt_hash="h") for q in questions])
    return run


def test_it_samples_each_question_type_in_proportion_with_a_seed(questions):
    sample = stratified_sample(questions, 5, seed=42)
    types = [q.question_type for q in sample]
    assert (types.count("symptom"), types.count("history")) == (3, 2)
    assert sample == stratified_sample(questions, 5, seed=42)
    assert {q.qid for q in sample} != {q.qid for q in stratified_sample(questions, 5, seed=7)}
    assert len(stratified_sample(questions, 50, seed=1)) == 10


def test_it_starts_a_blinded_campaign_from_two_generation_runs(questions, lead, annotator):
    candidate, reference = generation("model-a", questions, "Candidate"), generation("model-b", questions, "Base")
    judge = EvaluationRun.objects.create(kind=RunKind.WINRATE, model_name="model-a", generation=candidate,
                                         reference_generation=reference, finished_at="2026-01-01T00:00Z")
    for q in questions:
        for order, winner in enumerate(["candidate", "reference" if q.question_type == "history" else "candidate"]):
            PairwiseVerdict.objects.create(run=judge, question=q, qid=q.qid, order=order, sample=0,
                                           candidate_text="c", reference_text="r", winner=winner, seed=0,
                                           prompt_hash="h")
    run = do_start_expert_check(ExpertCheckConfig(candidate=candidate.pk, reference_run=reference.pk,
                                                  judge_run=judge.pk, size=4, annotators=[annotator.username]), lead)
    campaign = Campaign.objects.get(pk=run.provenance["campaign"])
    assert run.kind == RunKind.EXPERT_CHECK and run.status == "annotating" and campaign.status == "draft"
    assert campaign.item_count == 4 and campaign.judgment_mode == "overall" and campaign.members.get().user == annotator
    item = campaign.items.first()
    assert item.question_a.startswith("Candidate") and item.question_b.startswith("Base")
    assert item.source_a == "candidate:model-a" and item.attribute == "overall"
    choices = {i.meta["qid"]: i.judge_choice for i in campaign.items.all()}
    types = dict(Question.objects.values_list("qid", "question_type"))
    assert all(choice == (Choice.TIE if types[qid] == "history" else Choice.A) for qid, choice in choices.items())
    assert run.provenance["strata"] == {"symptom": 2, "history": 2} and len(run.provenance["qids"]) == 4


def judge_item(item, user, choice):
    assignment = Assignment.objects.create(campaign=item.campaign, item=item, annotator=user, left_is_a=True,
                                           status="submitted")
    Judgment.objects.create(assignment=assignment, campaign=item.campaign, item=item, annotator=user,
                            attribute="overall", choice=choice)


def test_it_reports_the_expert_win_rate_and_the_judge_expert_kappa(questions, lead, annotator, second_annotator):
    candidate = generation("model-a", questions, "Candidate")
    run = do_start_expert_check(ExpertCheckConfig(candidate=candidate.pk, size=4), lead)  # against the doctors
    items = list(Campaign.objects.get(pk=run.provenance["campaign"]).items.order_by("position"))
    for item, judge in zip(items, [Choice.A, Choice.A, Choice.B, Choice.B], strict=True):
        item.judge_choice = judge
        item.save()
    for item, (first, second) in zip(items, [("a", "a"), ("a", "tie"), ("b", "b"), ("a", "a")], strict=True):
        judge_item(item, annotator, first)
        judge_item(item, second_annotator, second)
    metrics = expert_check_metrics(run)
    # item scores 1, 0.75, 0, 1; a split between a and tie has no majority and counts as a tie
    assert metrics["expert_win_rate"] == pytest.approx(2.75 / 4) and metrics["items_judged"] == 4
    assert metrics["judge_win_rate"] == 0.5 and metrics["judgments"] == 8
    # judge a a b b vs experts a tie b a: agreement 2/4, chance (1/2)(1/2) + (1/2)(1/4) = 3/8
    assert metrics["judge_expert_kappa"]["value"] == pytest.approx((0.5 - 0.375) / (1 - 0.375))
    cell = next(row for row in leaderboard()["rows"] if row["model"] == "model-a")["winrate"]["expert vs human"]
    assert cell["win_rate"] == pytest.approx(0.6875) and cell["judge"] == "physicians"


def test_it_refuses_an_unfinished_or_unknown_run(questions, lead):
    unfinished = EvaluationRun.objects.create(kind=RunKind.GENERATION, model_name="m")
    with pytest.raises(EvaluationError, match="finished generation run"):
        do_start_expert_check(ExpertCheckConfig(candidate=unfinished.pk), lead)
    with pytest.raises(EvaluationError, match="No generation run 999"):
        do_start_expert_check(ExpertCheckConfig(candidate=999), lead)


def test_shows_the_expert_check_page_and_exports_its_items(questions, lead, client_for):
    candidate = generation("model-a", questions, "Candidate")
    run = do_start_expert_check(ExpertCheckConfig(candidate=candidate.pk, size=3), lead)
    client = client_for(lead)
    content = client.get(run.get_absolute_url()).content.decode()
    assert 'id="expert-check"' in content and "0 of 3 questions judged" in content
    lines = client.get(f"/evaluation/runs/{run.pk}/export.csv").content.decode().splitlines()
    assert lines[0] == "qid,candidate,reference,judge_choice,expert_choices" and len(lines) == 4
