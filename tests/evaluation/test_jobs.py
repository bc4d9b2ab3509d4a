"""Interactive runs as jobs on the tiny model: stored episodes and metrics, provenance, seeds, errors."""

import pytest

from evaluation.actions import EvaluationError, do_enqueue_interactive
from evaluation.configs import InteractiveConfig
from evaluation.models import Episode
from jobs.models import JobStatus

from .helpers import mediq_records, write_jsonl

pytestmark = pytest.mark.django_db
SHORT = {"max_tokens": 8}


def interactive(capture, **options):
    config = InteractiveConfig(**{"model": "tiny", "max_questions": 2, "max_attempts": 1, "expert_sampling": SHORT,
                                  "question_sampling": SHORT, "patient_sampling": SHORT, **options})
    with capture(execute=True):
        run = do_enqueue_interactive(config)
    run.refresh_from_db()
    run.job.refresh_from_db()
    return run


@pytest.fixture
def case_file(tmp_path):
    return write_jsonl(tmp_path / "cases.jsonl", mediq_records(3))


@pytest.mark.parametrize("patient", ["llm", "embedding"])
def test_it_runs_episodes_for_every_case_and_stores_metrics(django_capture_on_commit_callbacks, tiny_endpoint,
                                                            case_file, patient):
    run = interactive(django_capture_on_commit_callbacks, cases=str(case_file), patient=patient)
    assert run.job.status == JobStatus.SUCCEEDED, run.job.error
    assert run.episodes.count() == 3 and run.is_finished
    metrics = run.metrics
    assert metrics["cases"] == 3 and 0 <= metrics["correct"] <= 3 and metrics["accuracy"] == metrics["correct"] / 3
    assert set(metrics) >= {"timeout_rate", "mean_questions", "by_questions", "curve", "accuracy_ci"}
    assert run.job.result["cases"] == 3 and run.job.progress_done == run.job.progress_total == 3
    episode = run.episodes.first()
    roles = {event["role"] for event in episode.transcript}
    assert {"expert"} <= roles and episode.seed == 0
    if episode.num_questions:
        assert {"question_generator", "patient"} <= roles
    assert run.provenance["patient"]["kind"] == patient and run.provenance["seeds"] == [0]
    assert run.provenance["prompts"]["expert_confidence"]["version"] == "expert-confidence-v1"
    assert run.provenance["case_set"]["initial_info"] == "original_post"
    assert run.case_set.items.first().facts[0] == "The patient has had a fever for three days."  # bullet gone


def test_it_reproduces_a_run_exactly_from_its_seed(django_capture_on_commit_callbacks, tiny_endpoint, case_file):
    options = {"cases": str(case_file), "repeats": 2, "seed": 4, "max_attempts": 2, "max_questions": 1, "limit": 2}
    first = interactive(django_capture_on_commit_callbacks, **options)
    second = interactive(django_capture_on_commit_callbacks, **options)
    fields = ("repeat", "seed", "case_id", "letter", "num_questions", "choices", "confidences", "transcript")
    assert list(first.episodes.values(*fields)) == list(second.episodes.values(*fields))
    assert first.metrics == second.metrics and first.case_set_id == second.case_set_id
    assert sorted(set(first.episodes.values_list("seed", flat=True))) == [4, 5]
    assert first.metrics["repeats"] == 2 and len(first.metrics["per_repeat"]) == 2


def test_it_computes_the_error_reduction_against_a_baseline_run(django_capture_on_commit_callbacks, tiny_endpoint,
                                                                case_file):
    base = interactive(django_capture_on_commit_callbacks, cases=str(case_file))
    Episode.objects.filter(run=base).update(correct=False)  # a baseline that is always wrong: err_base = 1
    run = interactive(django_capture_on_commit_callbacks, cases=str(case_file), baseline=base.pk)
    reduction = run.metrics["error_reduction"]
    assert reduction["baseline_run"] == base.pk and reduction["n"] == 3
    assert reduction["value"] == pytest.approx(run.metrics["accuracy"])  # (1 - err) / 1


def test_it_refuses_an_unknown_model_or_case_set(tiny_endpoint, tmp_path):
    with pytest.raises(EvaluationError, match="neither an active endpoint"):
        do_enqueue_interactive(InteractiveConfig(model="no-such-model", cases="askdocs"))
    with pytest.raises(EvaluationError, match="holds no askdocs MCQ cases"):
        do_enqueue_interactive(InteractiveConfig(model="tiny", cases="askdocs"))
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"id": "x", "question": "q"}])
    with pytest.raises(EvaluationError, match="line 1"):
        do_enqueue_interactive(InteractiveConfig(model="tiny", cases=str(bad)))


def test_it_registers_a_local_model_folder_on_first_use(django_capture_on_commit_callbacks, tiny_model_dir,
                                                        case_file):
    run = interactive(django_capture_on_commit_callbacks, model=str(tiny_model_dir), cases=str(case_file), limit=1,
                      max_questions=0)
    assert run.job.status == JobStatus.SUCCEEDED, run.job.error
    assert run.endpoint.model == str(tiny_model_dir.resolve()) and run.metrics["mean_questions"] == 0
