"""SmolLM2-135M-Instruct (a real chat model) as expert, patient and question generator, through `evaluate --inline`,
on two real MediQ-AskDocs cases read from ../shared/data."""

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from evaluation.models import EvaluationRun

SMOLLM2 = Path(settings.MODELS_DIR) / "smollm2-135m-instruct"


@pytest.mark.slow
@pytest.mark.django_db
def test_smollm2_runs_an_interactive_evaluation_with_real_text(django_capture_on_commit_callbacks, capsys,
                                                              shared_data):
    if not (SMOLLM2 / "config.json").exists():
        pytest.skip("SmolLM2 not prepared: run `python manage.py prepare_demo_model`")
    short = [f"--{role}-{key}" for role in ("expert", "question", "patient") for key in ("temperature", "max-tokens")]
    short = [word for flag in short for word in (flag, "0" if "temperature" in flag else "24")]
    with django_capture_on_commit_callbacks(execute=True):
        call_command("evaluate", "--task", "interactive", "--model", str(SMOLLM2), "--cases",
                     str(shared_data / "mediq" / "askdocs_mcq.jsonl"), "--limit", "2", "--max-questions", "1",
                     *short, "--inline")
    metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert metrics["cases"] == 2 and metrics["mean_questions"] <= 1
    run = EvaluationRun.objects.get(pk=metrics["run"])
    for episode in run.episodes.all():
        assert all(text.strip() for event in episode.transcript for text in event.get("raw", []))
        questions = [event for event in episode.transcript if event["kind"] == "question"]
        assert all(event["question"] for event in questions)  # a real model always says something
