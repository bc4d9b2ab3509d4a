"""DPO on SmolLM2-135M-Instruct (a real Llama tokenizer and chat template) through `train --inline`."""

from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from transformers import AutoModelForCausalLM

from training.models import TrainedModel

SMOLLM2 = Path(settings.MODELS_DIR) / "smollm2-135m-instruct"  # read before a test points MODELS_DIR elsewhere


@pytest.mark.slow
@pytest.mark.django_db
def test_smollm2_trains_two_dpo_steps_with_the_authors_options_and_loads_back(pairs):
    if not (SMOLLM2 / "config.json").exists():
        pytest.skip("SmolLM2 not prepared: run `python manage.py prepare_demo_model`")
    out = StringIO()
    call_command("train", "--method", "dpo", "--dataset", "pairs@v1", "--base-model", str(SMOLLM2),
                 "--attributes", "clarity", "--max-steps", "2", "--global-batch-size", "0",
                 "--per-device-train-batch-size", "2", "--max-length", "1024", "--inline", stdout=out)
    folder = out.getvalue().splitlines()[-1]
    model = TrainedModel.objects.get()
    assert folder == str(model.folder) and model.final_metrics["global_step"] == 2
    assert model.config["beta"] == 2.0 and model.config["gradient_checkpointing"]
    assert all(m.loss is not None for m in model.run.metrics.filter(split="train"))
    AutoModelForCausalLM.from_pretrained(folder)
