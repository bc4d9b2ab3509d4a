"""The evaluation through a real Celery worker on the tiny offline model: interactive runs with both patients."""

import time

import pytest

from evaluation.actions import do_enqueue_interactive
from evaluation.configs import InteractiveConfig
from jobs.models import JobStatus
from synthesis.models import Backend, ModelEndpoint

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
