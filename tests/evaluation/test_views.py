"""Evaluation pages: roles, launching from the browser form, the run page, transcripts, leaderboard, exports."""

import json

import pytest

from evaluation.models import EvaluationRun, RunKind
from jobs.models import JobStatus

from .helpers import make_finished_runs, mediq_records, write_jsonl

pytestmark = pytest.mark.django_db


@pytest.fixture
def runs(lead):
    return make_finished_runs(lead)


@pytest.mark.parametrize("name", ["evaluation:index", "evaluation:leaderboard"])
def test_allows_lead_to_read_results(client_for, lead, runs, name):
    from django.urls import reverse

    response = client_for(lead).get(reverse(name))
    assert response.status_code == 200 and b"model-a" in response.content


@pytest.mark.parametrize("user_fixture", ["annotator", "reviewer", "outsider"])
def test_denies_annotators_reviewers_and_outsiders_the_results(client_for, request, runs, user_fixture):
    client = client_for(request.getfixturevalue(user_fixture))
    interactive, _ = runs
    episode = interactive.episodes.first()  # shows the key: reviewers gold-label these cases blind
    for url in ["/evaluation/", "/evaluation/leaderboard/", interactive.get_absolute_url(), episode.get_absolute_url(),
                f"/evaluation/runs/{interactive.pk}/export.json", "/evaluation/leaderboard.csv"]:
        assert client.get(url).status_code == 403, url


def test_sends_anonymous_users_to_the_login_page(client, runs):
    assert client.get("/evaluation/").status_code == 302
    assert client.get(f"/evaluation/runs/{runs[0].pk}/export.csv")["Location"].startswith("/login/")


def test_denies_reviewer_to_launch(client_for, reviewer):
    client = client_for(reviewer)
    assert client.get("/evaluation/launch/").status_code == 403
    assert client.post("/evaluation/launch/", {"task": "interactive"}).status_code == 403


def test_allows_lead_to_launch_an_interactive_run_from_the_form(client_for, lead, tiny_endpoint, tmp_path):
    cases = write_jsonl(tmp_path / "cases.jsonl", mediq_records(2))
    client = client_for(lead)
    assert b'id="launch-interactive"' in client.get("/evaluation/launch/").content
    response = client.post("/evaluation/launch/", {
        "task": "interactive", "interactive-model": "tiny", "interactive-cases": str(cases),
        "interactive-max_questions": "3", "interactive-patient": "embedding", "interactive-expert_max_tokens": "8"})
    run = EvaluationRun.objects.get()
    assert response.status_code == 302 and response["Location"] == run.get_absolute_url()
    assert run.config["max_questions"] == 3 and run.config["patient"] == "embedding"
    assert run.config["repeats"] == 1 and run.config["expert_sampling"] == {"temperature": 0.6, "top_p": 0.9,
                                                                             "max_tokens": 8}
    assert run.created_by == lead and run.job.status == JobStatus.QUEUED and run.job.owner == lead
    page = client.get(run.get_absolute_url())
    assert b'hx-get="/evaluation/runs/' in page.content  # the progress fragment polls while the job is queued


def test_a_model_page_link_fills_every_task_with_that_endpoint_and_ignores_an_unknown_one(
        client_for, lead, tiny_endpoint):
    client = client_for(lead)
    filled = client.get("/evaluation/launch/?model=tiny").context["forms"]
    assert all(form["model"].value() == "tiny" for form in filled.values() if "model" in form.fields)
    assert sum("model" in form.fields for form in filled.values()) == 3  # interactive, win-rate, generation
    unknown = client.get("/evaluation/launch/?model=%3Cscript%3E").context["forms"]
    assert not any(form["model"].value() for form in unknown.values() if "model" in form.fields)


def test_shows_a_launch_error_on_the_form(client_for, lead, tiny_endpoint):
    response = client_for(lead).post("/evaluation/launch/", {"task": "interactive", "interactive-model": "nope"})
    assert response.status_code == 400 and b"neither an active endpoint" in response.content
    assert not EvaluationRun.objects.exists()


def test_shows_the_run_with_accuracy_and_episodes(client_for, lead, runs):
    interactive, winrate = runs
    content = client_for(lead).get(interactive.get_absolute_url()).content.decode()
    assert "2/3" in content and 'id="episodes"' in content and "t_case0" in content
    assert 'hx-get' not in content  # finished: no polling
    content = client_for(lead).get(winrate.get_absolute_url()).content.decode()
    assert 'id="win-rate"' in content and "0.7500" in content and "Any aura before the pain?" in content


def test_shows_a_transcript_with_the_facts_used_and_the_confidence(client_for, lead, runs):
    episode = runs[0].episodes.order_by("item__position").first()
    content = client_for(lead).get(episode.get_absolute_url()).content.decode()
    assert "Do you have a fever?" in content and "2 — Somewhat Unconfident" in content
    assert '<mark class="study">The patient has had a fever for three days.</mark>' in content
    assert "correct" in content and "next case" in content


def test_the_progress_fragment_reloads_the_page_when_the_run_ends(client_for, lead, runs):
    response = client_for(lead).get(f"/evaluation/runs/{runs[0].pk}/progress/")
    assert response.status_code == 200 and response["HX-Refresh"] == "true"


def test_shows_the_leaderboard_with_intervals_and_chart_data(client_for, lead, runs):
    response = client_for(lead).get("/evaluation/leaderboard/")
    content = response.content.decode()
    assert "2/3 = 0.667" in content and "vs human" in content and "chart-4.6.1.umd.min.js" in content
    chart = response.context["chart"]
    assert chart["winrate"][0]["model"] == "model-a" and chart["winrate"][0]["value"] == 0.75
    assert [point["y"] for point in chart["curves"][0]["points"]] == [0, 2 / 3, 2 / 3]


def test_exports_runs_and_the_leaderboard_as_json_and_csv(client_for, lead, runs):
    client = client_for(lead)
    interactive, winrate = runs
    response = client.get(f"/evaluation/runs/{interactive.pk}/export.json")
    assert response["Content-Disposition"] == f'attachment; filename="evaluation-run-{interactive.pk}.json"'
    data = json.loads(response.content)
    assert data["metrics"]["correct"] == 2 and len(data["episodes"]) == 3 and data["episodes"][0]["transcript"]
    csv_text = client.get(f"/evaluation/runs/{winrate.pk}/export.csv").content.decode()
    lines = csv_text.splitlines()
    assert lines[0] == "qid,order,sample,winner,attempts,explanation" and len(lines) == 5
    board = client.get("/evaluation/leaderboard.json").json()
    assert board["rows"][0]["interactive"]["demo-cases"]["correct"] == 2
    lines = client.get("/evaluation/leaderboard.csv").content.decode().splitlines()
    assert lines[0] == "model,metric,column,value,low,high,n,run"
    assert any(line.startswith("model-a,win_rate,vs human,0.75") for line in lines)
    assert client.get(f"/evaluation/runs/{interactive.pk}/export.xml").status_code == 404


def test_computes_the_error_reduction_against_a_chosen_baseline(client_for, lead, runs):
    interactive, _ = runs
    baseline = EvaluationRun.objects.create(kind=RunKind.INTERACTIVE, model_name="model-b",
                                            case_set=interactive.case_set, config=interactive.config,
                                            finished_at=interactive.finished_at)
    for episode in interactive.episodes.all():
        episode.pk, episode.run, episode.correct = None, baseline, False
        episode.save()
    response = client_for(lead).get(f"/evaluation/leaderboard/?baseline={baseline.pk}")
    row = next(row for row in response.context["board"]["rows"] if row["model"] == "model-a")
    reduction = row["interactive"]["demo-cases"]["error_reduction"]
    assert reduction["value"] == pytest.approx(2 / 3) and reduction["baseline_run"] == baseline.pk


def test_links_a_trained_model_to_its_lineage_on_the_leaderboard(client_for, lead, runs, tiny_endpoint):
    from training.models import TrainedModel

    interactive, _ = runs
    TrainedModel.objects.create(name="dpo-fused", path="models/dpo-fused", endpoint=tiny_endpoint)
    EvaluationRun.objects.filter(pk=interactive.pk).update(endpoint=tiny_endpoint)
    response = client_for(lead).get("/evaluation/leaderboard/")
    row = next(row for row in response.context["board"]["rows"] if row["model"] == "model-a")
    assert row["lineage"]["trained_model"] == "dpo-fused" and row["lineage"]["endpoint"] == "tiny"
    assert 'href="/training/models/dpo-fused/"' in response.content.decode()


def test_allows_lead_to_import_a_case_set_file(client_for, lead, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from evaluation.models import CaseSet

    settings.MEDIA_ROOT = tmp_path
    body = write_jsonl(tmp_path / "mine.jsonl", mediq_records(2)).read_bytes()
    client = client_for(lead)
    response = client.post("/evaluation/case-sets/upload/", {
        "file": SimpleUploadedFile("mine.jsonl", body), "name": "my-cases", "initial_info": "record"})
    assert response.status_code == 302
    case_set = CaseSet.objects.get(name="my-cases")
    assert case_set.size == 2 and case_set.initial_info == "record"
    assert case_set.items.first().initial_info == "persistent dizziness"
    bad = client.post("/evaluation/case-sets/upload/", {"file": SimpleUploadedFile("bad.jsonl", b"{nope\n")},
                      follow=True)
    assert b"invalid JSON" in bad.content and CaseSet.objects.count() == 1


def test_denies_reviewer_to_import_a_case_set(client_for, reviewer):
    assert client_for(reviewer).post("/evaluation/case-sets/upload/", {}).status_code == 403
