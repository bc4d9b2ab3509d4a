"""A lead queues a DPO run from the page, watches its loss chart grow, and opens the registered model's lineage."""

import json
import time

import pytest

from dataversions.actions import do_create_version
from dataversions.models import DatasetVersion, VersionStatus
from tests.dataversions.conftest import pair_corpus  # noqa: F401
from tests.synthesis.conftest import catalogue, tiny_model_dir  # noqa: F401
from tests.training.conftest import FAST, RENDERING
from training.models import TrainedModel, TrainingRun

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def loss_points(page) -> int:
    chart = page.locator("#chart-loss")
    return int(chart.get_attribute("data-points").split(",")[0]) if chart.count() else 0


def test_lead_starts_a_run_watches_its_chart_and_opens_the_model_lineage(
        page, live_server, login, lead, pair_corpus, tiny_model_dir, start_worker, settings, tmp_path):  # noqa: F811
    settings.VAR_DIR, settings.MODELS_DIR = tmp_path, tmp_path / "models"
    worker = start_worker(ALFA_VAR_DIR=tmp_path, ALFA_MODELS_DIR=tmp_path / "models")
    version = do_create_version("pairs", {"kind": "preference", "verdict": "unfiltered", "rendering": RENDERING})
    deadline = time.monotonic() + 60
    while DatasetVersion.objects.get(pk=version.pk).status != VersionStatus.READY:
        assert time.monotonic() < deadline, worker.output()
        time.sleep(0.2)

    login(page, lead)
    page.goto(f"{live_server.url}/training/new/?method=dpo")
    page.select_option("select[name=dataset_version]", str(version.pk))
    page.fill("input[name=base_model]", str(tiny_model_dir))
    page.check("input[name=attributes][value=clarity]")
    page.fill("input[name=name]", "browser-dpo")
    # Four forward passes a step keep the run long enough for the page to refresh while it trains.
    page.fill("textarea[name=config_json]", json.dumps({**FAST, "max_steps": 16, "gradient_accumulation_steps": 4}))
    page.click("#run-form button[type=submit]")

    run = TrainingRun.objects.get(name="browser-dpo")
    page.wait_for_url(f"**/training/runs/{run.pk}/")
    page.wait_for_function("() => document.querySelector('#chart-loss') !== null", timeout=120_000)
    first = loss_points(page)
    assert page.get_attribute("#run-live", "data-status") == "running", worker.output()
    page.wait_for_function(f"() => +document.querySelector('#chart-loss').dataset.points.split(',')[0] > {first}",
                           timeout=60_000)
    page.wait_for_selector("#run-model", timeout=120_000)
    assert page.get_attribute("#run-live", "data-status") == "succeeded"
    assert loss_points(page) == 16

    page.click("#run-model")
    page.wait_for_url("**/training/models/browser-dpo/")
    lineage = page.inner_text("#model-lineage")
    model = TrainedModel.objects.get(name="browser-dpo")
    assert f"DPO run {run.pk} (clarity)" in lineage and str(version) in lineage
    assert tiny_model_dir.name in lineage and model.run == run
    page.click(f"#model-lineage a:has-text('DPO run {run.pk}')")
    page.wait_for_url(f"**/training/runs/{run.pk}/")
