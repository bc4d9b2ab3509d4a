"""`manage.py evaluate`: inline runs print their metrics as JSON on the last line; options are checked."""

import json

import pytest
from django.core.management import CommandError, call_command

from evaluation.models import EvaluationRun
from jobs.models import JobStatus

from .helpers import mediq_records, write_jsonl

pytestmark = pytest.mark.django_db


def evaluate(capture, capsys, *arguments):
    with capture(execute=True):  # the test runs in a transaction; on the command line the job starts at once
        call_command("evaluate", *arguments)
    return capsys.readouterr().out.strip().splitlines()


def test_it_runs_an_interactive_evaluation_inline_and_prints_its_metrics(
        django_capture_on_commit_callbacks, capsys, tiny_endpoint, tmp_path):
    cases = write_jsonl(tmp_path / "cases.jsonl", mediq_records(3))
    lines = evaluate(django_capture_on_commit_callbacks, capsys, "--task", "interactive", "--model", "tiny",
                     "--cases", str(cases), "--limit", "2", "--max-questions", "1", "--patient", "embedding",
                     "--repeats", "1", "--seed", "3", "--max-attempts", "1", "--expert-max-tokens",
                     "6", "--question-max-tokens", "6", "--inline")
    metrics = json.loads(lines[-1])
    assert {"accuracy", "correct", "cases", "mean_questions"} <= set(metrics) and metrics["cases"] == 2
    run = EvaluationRun.objects.get(pk=metrics["run"])
    assert run.job.status == JobStatus.SUCCEEDED and run.config["seed"] == 3 and run.config["limit"] == 2
    # A flag sets one key over the role's default sampling (MediQ's), as in the form.
    assert run.config["expert_sampling"] == {"temperature": 0.6, "top_p": 0.9, "max_tokens": 6}
    assert f"/evaluation/runs/{run.pk}/" in lines[-2]


def test_it_queues_a_job_without_inline(tiny_endpoint, tmp_path, capsys):
    cases = write_jsonl(tmp_path / "cases.jsonl", mediq_records(1))
    call_command("evaluate", "--task", "interactive", "--model", "tiny", "--cases", str(cases))
    run = EvaluationRun.objects.get()
    assert run.job.status == JobStatus.QUEUED and f"job {run.job.pk} is queued" in capsys.readouterr().out


def test_it_refuses_options_of_another_task(tiny_endpoint):
    with pytest.raises(CommandError, match="--patient do"):
        call_command("evaluate", "--task", "winrate", "--model", "tiny", "--patient", "llm")


def test_it_needs_a_model(db):
    with pytest.raises(CommandError, match="model is required"):
        call_command("evaluate", "--task", "interactive")


def test_it_starts_an_expert_check_from_the_command_line(capsys):
    from evaluation.models import GeneratedQuestion, RunKind
    from tests.synthesis.conftest import make_question

    question = make_question(1, split="test")
    generation = EvaluationRun.objects.create(kind=RunKind.GENERATION, model_name="m", finished_at="2026-01-01T00:00Z")
    GeneratedQuestion.objects.create(run=generation, question=question, qid=question.qid, text="Any aura?",
                                     model_name="m", backend="transformers", seed=0, rendering="thread-v1",
                                     prompt_hash="h")
    call_command("evaluate", "--task", "expert_check", "--candidate", str(generation.pk), "--size", "5")
    run = EvaluationRun.objects.get(kind=RunKind.EXPERT_CHECK)
    assert f"campaign {run.provenance['campaign']} with 1 items" in capsys.readouterr().out
