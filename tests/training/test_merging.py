"""Policy fusion: a weighted element-wise average of same-architecture models, registered with its parents."""

import pytest
import torch
from safetensors.torch import load_file

from jobs.models import JobStatus
from synthesis.tiny_model import build_tiny_model
from training.actions import TrainingError, do_create_merge, do_register_trained_model
from training.models import TrainedModel

from .conftest import run_queued_jobs

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_models(var_dir):
    """Three registered tiny policies from different seeds (same architecture, different weights)."""
    models = []
    for seed in range(3):
        folder = var_dir / "models" / "trained" / f"tiny-{seed}"
        build_tiny_model(folder, seed=seed)
        models.append(do_register_trained_model(f"tiny-{seed}", folder, base_model="synthesis.tiny_model"))
    return models


def merge(values, name, **options):
    with run_queued_jobs():
        job = do_create_merge(values, name, **options)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error + job.log_tail
    return job


def weights_of(model):
    return load_file(model.folder / "model.safetensors")


def test_it_averages_two_models_to_exactly_the_element_wise_mean(three_models):
    first, second, _ = three_models
    merge([first.name, second.name], "fused")
    fused = TrainedModel.objects.get(name="fused")
    a, b, merged = weights_of(first), weights_of(second), weights_of(fused)
    assert set(merged) == set(a)
    for name, tensor in merged.items():
        assert tensor.dtype == a[name].dtype
        assert torch.equal(tensor, (a[name] + b[name]) / 2), name
    assert [(link.parent.name, link.weight) for link in fused.parent_links.all()] == [("tiny-0", 0.5),
                                                                                     ("tiny-1", 0.5)]
    assert fused.endpoint is not None and fused.is_merge
    assert (fused.folder / "tokenizer.json").is_file()


def test_it_weights_the_average_and_writes_leave_one_out_merges(three_models):
    a, b, c = (weights_of(m) for m in three_models)
    merge([m.name for m in three_models], "avg", weights=[2, 1, 1], leave_one_out=True)
    name = next(iter(a))
    weighted = (a[name].double() * 0.5 + b[name].double() * 0.25 + c[name].double() * 0.25).float()
    assert torch.equal(weights_of(TrainedModel.objects.get(name="avg"))[name], weighted)
    without_first = TrainedModel.objects.get(name="avg-wo-tiny-0")
    assert [link.parent.name for link in without_first.parent_links.all()] == ["tiny-1", "tiny-2"]
    assert torch.equal(weights_of(without_first)[name], (b[name] + c[name]) / 2)
    assert TrainedModel.objects.filter(name__startswith="avg-wo-").count() == 3


def test_it_refuses_models_of_different_architectures_before_queueing(three_models, var_dir):
    narrow = var_dir / "narrow"
    build_tiny_model(narrow, hidden_size=32, intermediate_size=64)
    with pytest.raises(TrainingError, match=r"different architectures: .*narrow differs from tiny-0 in head_dim "
                                            r"\(8 vs 16\), hidden_size \(32 vs 64\), intermediate_size \(64 vs 128\)"):
        do_create_merge(["tiny-0", str(narrow)], "bad")
    assert not TrainedModel.objects.filter(name="bad").exists()


def test_it_refuses_a_weight_count_that_does_not_match(three_models):
    with pytest.raises(TrainingError, match="one weight per model: 1 weights for 2 models"):
        do_create_merge(["tiny-0", "tiny-1"], "bad", weights=[1])


def test_the_lineage_of_a_merge_of_trained_models_reaches_their_bases(three_models):
    merge(["tiny-0", "tiny-1"], "fused")
    lineage = TrainedModel.objects.get(name="fused").lineage()
    assert [entry.get("model", entry.get("external")).__str__() for entry in lineage] == [
        "fused", "tiny-0", "synthesis.tiny_model", "tiny-1", "synthesis.tiny_model"]
    assert [entry["depth"] for entry in lineage] == [0, 1, 2, 1, 2]
