"""The training API and pages: leads only; a refused run gets the same message from the form, the API and the CLI."""

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from alfa_platform.paths import display_path
from jobs.models import JobStatus
from training.models import TrainedModel, TrainingRun

from .conftest import FAST, train

pytestmark = pytest.mark.django_db


def api_refusal(api_client_for, lead, **body):
    """Return the one message of a 400: a request's own error, or an option's (nested under "config")."""
    response = api_client_for(lead).post("/api/training/runs/", body, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()
    if "config" in errors:
        ((_, (message,)),) = errors["config"].items()
        return message
    return errors["non_field_errors"][0]


def form_refusal(client_for, lead, method, **data):
    """Return the one error the form shows, beside its field or above the form."""
    response = client_for(lead).post(f"{reverse('training:run-new')}?method={method}", {"method": method, **data})
    assert response.status_code == 200
    (messages,) = response.context["form"].errors.values()
    assert messages[0] in response.content.decode()
    return messages[0]


def cli_refusal(tmp_path, *args, config=None):
    if config is not None:
        path = tmp_path / "config.json"
        path.write_text(json.dumps(config))
        args = (*args, "--config-file", str(path))
    with pytest.raises(CommandError) as refused:
        call_command("train", *args)
    return str(refused.value)


@pytest.mark.parametrize(("method", "version_fixture", "config", "expected"), [
    ("dpo", "pairs", {"lerning_rate": 1e-6}, "Unknown DPORunConfig option(s): lerning_rate."),
    ("dpo", "pairs", {"learning_rate": -1}, "learning_rate must be greater than 0."),
    ("dpo", "sft_version", {}, "A DPO run needs a dataset version of kind preference; sft-real@v1 is of kind sft."),
])
def test_a_refused_run_gets_the_same_message_from_the_form_the_api_and_the_cli(
        request, api_client_for, client_for, lead, tiny_model_dir, tmp_path, method, version_fixture, config,
        expected):
    version = request.getfixturevalue(version_fixture)
    base = str(tiny_model_dir)
    from_api = api_refusal(api_client_for, lead, method=method, dataset_version=str(version.pk), base_model=base,
                           config=config)
    # An option the form has goes in its field; one it lacks can only come in the JSON box.
    fields = {key: str(value) for key, value in config.items() if key == "learning_rate"}
    unknown = {key: value for key, value in config.items() if key not in fields}
    from_form = form_refusal(client_for, lead, method, dataset_version=version.pk, base_model=base,
                             config_json=json.dumps(unknown), **fields)
    from_cli = cli_refusal(tmp_path, "--method", method, "--dataset", f"{version.dataset.name}@v{version.number}",
                           "--base-model", base, config=config)
    assert from_api == from_form == from_cli == expected
    assert not TrainingRun.objects.exists()


def test_the_form_queues_a_run_with_the_presets_and_the_fields_as_entered(client_for, lead, pairs, tiny_model_dir):
    response = client_for(lead).post(reverse("training:run-new"), {
        "method": "dpo", "dataset_version": pairs.pk, "base_model": str(tiny_model_dir), "attributes": ["focus"],
        "beta": "0.5", "learning_rate": "", "gradient_checkpointing": "on", "precision": "auto",
        "lr_scheduler_type": "cosine_with_min_lr", "loss_type": "sigmoid"})
    run = TrainingRun.objects.get()
    assert response.status_code == 302 and response.url == run.get_absolute_url()
    assert run.attributes == ["focus"] and run.config["beta"] == 0.5 and run.config["learning_rate"] == 5e-7
    assert run.config["use_peft"] is False and run.created_by == lead


def test_the_new_run_form_shows_each_method_preset(client_for, lead):
    page = client_for(lead).get(reverse("training:run-new") + "?method=sft").content.decode()
    assert 'name="learning_rate" value="5e-06"' in page and 'name="beta"' not in page
    assert 'name="completion_only_loss"' in page


@pytest.mark.parametrize("url", ["/training/", "/training/new/", "/training/models/", "/training/compare/"])
def test_denies_annotators_the_training_pages(client_for, annotator, url):
    assert client_for(annotator).get(url).status_code == 403


def test_denies_annotators_the_training_api(api_client_for, annotator):
    assert api_client_for(annotator).get("/api/training/runs/").status_code == 403
    assert api_client_for(annotator).get("/api/training/models/").status_code == 403


def test_allows_leads_to_follow_a_run_its_metrics_and_its_model(api_client_for, client_for, lead, pairs,
                                                               tiny_model_dir):
    run = train("dpo", pairs, tiny_model_dir, user=lead, attributes=["clarity"], name="clarity-dpo")
    assert run.job.status == JobStatus.SUCCEEDED
    api = api_client_for(lead)
    body = api.get(f"/api/training/runs/{run.pk}/").json()
    assert body["status"] == "succeeded" and body["trained_model"] == "clarity-dpo" and body["queue"] == "default"
    metrics = api.get(f"/api/training/runs/{run.pk}/metrics/?split=train&after=1").json()["results"]
    assert [m["step"] for m in metrics] == [2] and metrics[0]["values"]["rewards/chosen"] is not None
    model = api.get("/api/training/models/clarity-dpo/").json()
    assert model["dataset_hash"] == pairs.content_hash and model["endpoint"] == "clarity-dpo"

    page = client_for(lead).get(run.get_absolute_url()).content.decode()
    assert 'id="chart-loss"' in page and 'id="chart-accuracy"' in page and "<polyline" in page
    assert 'hx-trigger="every 2s"' not in page, "a finished run's page stops polling"
    lineage = client_for(lead).get(TrainedModel.objects.get(name="clarity-dpo").get_absolute_url()).content.decode()
    assert "DPO run" in lineage and str(pairs) in lineage
    assert display_path(tiny_model_dir) in lineage and str(tiny_model_dir) not in lineage, "no absolute paths"


def test_a_running_run_page_polls_its_live_fragment(client_for, lead, pairs, tiny_model_dir):
    from training.actions import do_create_training_run

    run = do_create_training_run("dpo", pairs, str(tiny_model_dir), config=FAST)
    page = client_for(lead).get(run.get_absolute_url()).content.decode()
    assert f'hx-get="/training/runs/{run.pk}/live/"' in page and 'id="no-metrics"' in page
    fragment = client_for(lead).get(f"/training/runs/{run.pk}/live/").content.decode()
    assert fragment.lstrip().startswith('<section id="run-live"')


def test_the_api_cancels_a_queued_run(api_client_for, lead, pairs, tiny_model_dir):
    from training.actions import do_create_training_run

    run = do_create_training_run("dpo", pairs, str(tiny_model_dir), config=FAST)
    response = api_client_for(lead).post(f"/api/training/runs/{run.pk}/cancel/")
    assert response.status_code == 202 and response.json()["status"] == "cancelled"


def test_the_run_list_api_makes_a_fixed_number_of_queries(api_client_for, lead, pairs, tiny_model_dir):
    from training.actions import do_create_training_run

    api = api_client_for(lead)
    do_create_training_run("dpo", pairs, str(tiny_model_dir), config=FAST)
    api.get("/api/training/runs/")  # the user's roles are looked up once, then cached on the user
    with CaptureQueriesContext(connection) as one:
        api.get("/api/training/runs/")
    for _ in range(3):
        do_create_training_run("rm", pairs, str(tiny_model_dir), config=FAST)
    with CaptureQueriesContext(connection) as four:
        assert len(api.get("/api/training/runs/").json()["results"]) == 4
    assert len(four) == len(one)


def test_the_compare_page_draws_one_line_per_run(client_for, lead, pairs, tiny_model_dir):
    first = train("dpo", pairs, tiny_model_dir, attributes=["clarity"])
    second = train("dpo", pairs, tiny_model_dir, attributes=["focus"])
    page = client_for(lead).get(f"/training/compare/?runs={first.pk}&runs={second.pk}").content.decode()
    assert 'id="chart-loss" data-points="2,2"' in page


def test_the_merge_api_refuses_mismatched_models_and_queues_matching_ones(api_client_for, lead, var_dir):
    from synthesis.tiny_model import build_tiny_model
    from training.actions import do_register_trained_model

    for name, shape in (("a", {}), ("b", {}), ("narrow", {"hidden_size": 32})):
        build_tiny_model(var_dir / name, seed=len(name), **shape)
        do_register_trained_model(name, var_dir / name)
    api = api_client_for(lead)
    refused = api.post("/api/training/models/merge/", {"models": ["a", "narrow"], "name": "x"}, format="json")
    assert refused.status_code == 400 and "different architectures" in refused.json()["non_field_errors"][0]
    queued = api.post("/api/training/models/merge/", {"models": ["a", "b"], "name": "ab"}, format="json")
    assert queued.status_code == 202 and queued.json()["kind"] == "model_merge"
