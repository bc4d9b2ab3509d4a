"""Question generation and the pairwise judge: both orders, k samples, ties, retries, unparseable replies kept out
of the score, win-rate and Bradley-Terry from stored verdicts."""

import json

import pytest

from corpus.models import Split
from evaluation.actions import EvaluationError, do_enqueue_generation, do_enqueue_winrate
from evaluation.configs import GenerationConfig, WinrateConfig
from evaluation.models import EvaluationRun, GeneratedQuestion, PairwiseVerdict, RunKind, Winner
from evaluation.winrate import Comparison, bradley_terry_table, judge_comparisons, winrate_metrics
from jobs.models import JobStatus
from tests.synthesis.conftest import make_question

from .helpers import ScriptedBackend, role, user_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def test_questions(db):
    return [make_question(n, split=Split.TEST, turns=n % 2) for n in range(1, 5)]


def verdict(winner):
    return json.dumps({"explanation": "Because.", "winner": winner})


def run_row(name="cand", reference="human"):
    return EvaluationRun.objects.create(kind=RunKind.WINRATE, model_name=name, reference_name=reference,
                                        finished_at="2026-01-01T00:00:00Z")


def judge(run, reply, comparisons, samples=1, max_attempts=2):
    backend = ScriptedBackend(reply)
    judge_comparisons(run, role("judge", backend), comparisons, samples, seed=0, max_attempts=max_attempts)
    return backend


def between(questions, candidate="Do you see flashing lights before the pain?", reference=None):
    return [Comparison(q, candidate, reference or q.text) for q in questions]


def test_it_judges_both_orders_k_times_with_one_batch_per_order_and_sample(test_questions):
    run = run_row()
    backend = judge(run, lambda request: verdict("1"), between(test_questions), samples=3)
    assert [len(call) for call in backend.calls] == [4] * 6  # (2 orders x 3 samples) batches of 4 questions
    assert PairwiseVerdict.objects.filter(run=run).count() == 4 * 2 * 3
    metrics = winrate_metrics(run)
    # a judge that always picks Question 1: the candidate wins order 0 and loses order 1, a soft tie per item
    assert metrics["win_rate"] == 0.5 and metrics["score_by_order"] == {"0": 1.0, "1": 0.0}
    assert metrics["order_agreement"] == 0.0 and metrics["wins"] == metrics["losses"] == 12


def test_it_maps_labels_to_the_candidate_in_either_order(test_questions):
    run = run_row()

    def prefers_lights(request):
        text = user_text(request)
        first = text.split("## Question 1\n")[1].split("\n")[0]
        return verdict("1" if "flashing" in first else "2")

    judge(run, prefers_lights, between(test_questions))
    metrics = winrate_metrics(run)
    assert metrics["win_rate"] == 1.0 and metrics["order_agreement"] == 1.0
    assert set(run.verdicts.values_list("winner", flat=True)) == {Winner.CANDIDATE}


def test_it_scores_ties_as_half(test_questions):
    run = run_row()
    judge(run, lambda request: verdict("tie"), between(test_questions))
    metrics = winrate_metrics(run)
    assert metrics["win_rate"] == 0.5 and metrics["ties"] == 8 and metrics["win_rate_ci"]["low"] == 0.5


def test_it_retries_a_reply_naming_no_winner_then_records_it_without_scoring_a_loss(test_questions):
    run = run_row()
    backend = judge(run, lambda request: "Question 1 is clearly better, m", between(test_questions[:2]),
                    max_attempts=3)
    assert [len(call) for call in backend.calls] == [2, 2, 2, 2, 2, 2]  # three calls per order
    rows = list(run.verdicts.all())
    assert {row.winner for row in rows} == {Winner.UNPARSEABLE} and all(row.attempts == 3 for row in rows)
    assert rows[0].replies[0] == {"text": "Question 1 is clearly better, m", "error": "no JSON object in the reply"}
    metrics = winrate_metrics(run)
    assert metrics["win_rate"] is None and metrics["losses"] == 0 and metrics["unparseable"] == 4
    assert metrics["items_unscored"] == 2


def test_it_recovers_when_a_retry_gives_a_valid_verdict(test_questions):
    seen = set()

    def flaky(request):
        key = user_text(request)
        if key not in seen:
            seen.add(key)
            return "no idea"
        return verdict("2")

    run = run_row()
    judge(run, flaky, between(test_questions[:1]))
    rows = list(run.verdicts.order_by("order"))
    assert [row.winner for row in rows] == [Winner.REFERENCE, Winner.CANDIDATE] and rows[0].attempts == 2
    assert rows[0].replies[0]["error"] and rows[0].replies[1]["error"] == ""


def test_it_ties_identical_questions_without_a_judge_call(test_questions):
    run = run_row()
    first, second = test_questions[:2]
    comparisons = [Comparison(first, "Any rash on the  ARMS?", "any rash on the arms?"),
                   Comparison(second, "Any rash on the arms?", second.text)]
    backend = judge(run, lambda request: verdict("1"), comparisons)
    assert [len(call) for call in backend.calls] == [1, 1]  # only the second question is judged
    tied = run.verdicts.filter(qid=first.qid)
    assert set(tied.values_list("winner", flat=True)) == {Winner.TIE} and tied[0].attempts == 0


def test_it_computes_the_win_rate_from_stored_verdicts_against_hand_computed_values(test_questions):
    run = run_row()
    pattern = {0: ["candidate", "candidate"], 1: ["candidate", "reference"], 2: ["reference", "reference"],
               3: ["tie", "tie"]}
    for k, winners in pattern.items():
        for order, winner in enumerate(winners):
            PairwiseVerdict.objects.create(run=run, question=test_questions[k], qid=test_questions[k].qid, order=order,
                                           sample=0, candidate_text="c", reference_text="r", winner=winner, seed=0,
                                           prompt_hash="h")
    metrics = winrate_metrics(run)
    assert metrics["win_rate"] == pytest.approx((1 + 0.5 + 0 + 0.5) / 4)  # zeros kept: dropping them gives 2/3
    assert metrics["items_scored"] == 4 and metrics["order_agreement"] == pytest.approx(3 / 4)


def test_it_rates_more_than_two_models_with_bradley_terry(test_questions):
    runs = [run_row("m1", "human"), run_row("m2", "human"), run_row("m1", "m2")]
    for run, winner in zip(runs, ["candidate", "reference", "candidate"], strict=True):
        for q in test_questions:
            PairwiseVerdict.objects.create(run=run, question=q, qid=q.qid, order=0, sample=0, candidate_text="c",
                                           reference_text="r", winner=winner, seed=0, prompt_hash="h")
    table = bradley_terry_table(runs, n_boot=50)
    assert set(table) == {"human", "m1", "m2"}
    assert table["m1"]["value"] > table["human"]["value"] > table["m2"]["value"]
    assert all(row["low"] <= row["value"] <= row["high"] for row in table.values())


def test_it_generates_the_next_question_for_every_test_question(django_capture_on_commit_callbacks, tiny_endpoint,
                                                                test_questions):
    make_question(9, split=Split.TRAIN)
    with django_capture_on_commit_callbacks(execute=True):
        run = do_enqueue_generation(GenerationConfig(model="tiny", sampling={"max_tokens": 6}, seed=5))
    run.refresh_from_db()
    assert run.job.status == JobStatus.SUCCEEDED, run.job.error
    rows = list(GeneratedQuestion.objects.filter(run=run))
    assert sorted(row.qid for row in rows) == sorted(q.qid for q in test_questions)
    for row in rows:
        assert row.model_name == str(tiny_endpoint.model) and row.rendering == "thread-v1" and row.prompt_hash
        assert row.sampling["max_tokens"] == 6 and row.seed and row.raw and row.attempts >= 1
    assert run.metrics["questions"] == 4 and run.job.progress_done == 4


def test_it_runs_a_win_rate_job_with_generation_and_judging(django_capture_on_commit_callbacks, tiny_endpoint,
                                                            test_questions):
    config = WinrateConfig(model="tiny", judge="tiny", samples=2, max_attempts=1, generation_sampling={
        "max_tokens": 6}, judge_sampling={"max_tokens": 6})
    with django_capture_on_commit_callbacks(execute=True):
        run = do_enqueue_winrate(config)
    run.refresh_from_db()
    assert run.job.status == JobStatus.SUCCEEDED, run.job.error
    assert run.generation.is_finished and run.generation.questions.count() == 4 and run.reference_name == "human"
    assert run.verdicts.count() == 4 * 2 * 2 and run.provenance["judge_prompt"]["version"] == "judge-pairwise-v1"
    metrics = run.metrics
    # random weights never write the JSON verdict: every reply is recorded unparseable and none counts as a loss
    assert metrics["unparseable"] + metrics["wins"] + metrics["losses"] + metrics["ties"] == 16
    assert metrics["items_scored"] + metrics["items_unscored"] == 4
    for row in run.verdicts.filter(winner=Winner.UNPARSEABLE):
        assert row.replies and row.replies[0]["error"] and row.attempts == 1
    with django_capture_on_commit_callbacks(execute=True):
        again = do_enqueue_winrate(config)
    assert again.generation_id == run.generation_id  # the same finished generation is judged again, not redone


def test_it_refuses_a_win_rate_without_questions_or_with_an_unknown_attribute(tiny_endpoint, test_questions):
    with pytest.raises(EvaluationError, match="No questions selected"):
        do_enqueue_winrate(WinrateConfig(model="tiny", split="validation"))
    with pytest.raises(EvaluationError, match="Unknown attribute"):
        do_enqueue_winrate(WinrateConfig(model="tiny", attribute="kindness"))
