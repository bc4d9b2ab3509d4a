"""Training fixtures: dataset versions of the pair corpus, a fast config for the tiny model, and a run helper."""

import pytest

from tests.dataversions.conftest import create_version, pair_corpus, run_queued_jobs  # noqa: F401
from tests.synthesis.conftest import catalogue, tiny_model_dir  # noqa: F401

# The tiny tokenizer spends a token per character or two: without the system prompt the rows fit its 512.
RENDERING = "thread-nosys-v1"
FAST = {"max_steps": 2, "global_batch_size": 0, "per_device_train_batch_size": 4, "max_length": 512,
        "learning_rate": 1e-2, "gradient_checkpointing": False, "eval_steps": 0, "save_steps": 10}


@pytest.fixture
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.MODELS_DIR = tmp_path / "models"
    return tmp_path


@pytest.fixture
def pairs(pair_corpus, var_dir):  # noqa: F811
    """A ready preference version: clarity and focus pairs of all three types in train, validation and test."""
    return create_version("pairs", verdict="unfiltered", rendering=RENDERING)


@pytest.fixture
def sft_version(pair_corpus, var_dir):  # noqa: F811
    from dataversions.actions import do_create_version

    with run_queued_jobs():
        version = do_create_version("sft-real", {"kind": "sft", "rendering": RENDERING})
    version.refresh_from_db()
    return version


def train(method, version, base, user=None, **options):
    """Queue a run and run its job in this process, as a worker would; return the run, refreshed."""
    from training.actions import do_create_training_run

    config = {**FAST, **options.pop("config", {})}
    with run_queued_jobs():
        run = do_create_training_run(method, version, str(base), config=config, user=user, **options)
    run.refresh_from_db()
    run.job.refresh_from_db()
    return run
