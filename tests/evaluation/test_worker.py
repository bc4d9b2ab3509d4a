"""The evaluation through a real Celery worker on the tiny offline model: generation, judge win-rate, and
interactive runs with both patients."""

import time

import pytest

from corpus.models import Split
from evaluation.actions import do_enqueue_interactive, do_enqueue_winrate
from evaluation.configs import InteractiveConfig, WinrateConfig
from jobs.models import JobStatus
from synthesis.models import Backend, ModelEndpoint
from tests.synthesis.conftest import make_question

from .helpers import mediq_records, write_jsonl

pytestmark = pytest.mark.worker
SHORT = {"max_tokens": 6}


def wait_for_job(run, worker, timeout=240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.job.refresh_from_db()
        if run.job.is_finished:
            run.refresh_from_db()
            return run
        time.sleep(0.2)
    raise AssertionError(f"job {run.job.pk} did not finish\n{worker.output()}")


def test_it_runs_interactive_evaluations_in_a_worker(start_worker, tiny_model_dir, tmp_path):
    ModelEndpoint.objects.create(name="tiny", backend=Backend.TRANSFORMERS, model=str(tiny_model_dir), device="cpu",
                                 batch_size=8)
    cases = write_jsonl(tmp_path / "cases.jsonl", mediq_records(3))
    worker = start_worker()
    runs = [do_enqueue_interactive(InteractiveConfig(
        model="tiny", cases=str(cases), patient=patient, max_questions=2, max_attempts=1, expert_sampling=SHORT,
        question_sampling=SHORT, patient_sampling=SHORT)) for patient in ("llm", "embedding")]
    for run in runs:
        run = wait_for_job(run, worker)
        assert run.job.status == JobStatus.SUCCEEDED, f"{run.job.error}\n{worker.output()}"
        assert run.episodes.count() == 3 and run.metrics["cases"] == 3 and run.is_finished
        assert run.job.result["run"] == run.pk and "accuracy" in run.job.result
    patients = [run.episodes.first().transcript for run in runs]
    assert any(event["role"] == "patient" for transcript in patients for event in transcript)


def test_it_generates_and_judges_a_win_rate_in_a_worker(start_worker, tiny_model_dir):
    ModelEndpoint.objects.create(name="tiny", backend=Backend.TRANSFORMERS, model=str(tiny_model_dir), device="cpu",
                                 batch_size=8, is_default_judge=True)
    for number in range(1, 4):
        make_question(number, split=Split.TEST)
    worker = start_worker()
    run = do_enqueue_winrate(WinrateConfig(model="tiny", samples=1, max_attempts=1,
                                           generation_sampling=SHORT, judge_sampling=SHORT))
    run = wait_for_job(run, worker)
    assert run.job.status == JobStatus.SUCCEEDED, f"{run.job.error}\n{worker.output()}"
    assert run.generation.questions.count() == 3 and run.verdicts.count() == 3 * 2
    assert run.metrics["verdicts"] == 6 and run.job.result["items"] == 3
