"""Training configs: the authors' presets, TRL's names, and refusals before a job is queued."""

import pytest

from jobs.models import Job
from training.actions import TrainingError, do_create_training_run
from training.configs import ConfigError, DPORunConfig, RewardRunConfig, SFTRunConfig, parse_config
from training.models import TrainingRun


def test_the_presets_are_the_authors_settings():
    dpo, sft, rm = DPORunConfig(), SFTRunConfig(), RewardRunConfig()
    assert (dpo.beta, dpo.learning_rate, dpo.num_train_epochs, dpo.global_batch_size, dpo.max_length,
            dpo.warmup_steps, dpo.lr_scheduler_type) == (2.0, 5e-7, 1.0, 256, 2048, 0.03, "cosine_with_min_lr")
    assert (sft.learning_rate, sft.num_train_epochs, sft.per_device_train_batch_size) == (5e-6, 2.0, 2)
    assert (rm.learning_rate, rm.num_train_epochs) == (9e-6, 1.0)


def test_it_turns_the_global_batch_into_gradient_accumulation():
    assert DPORunConfig().accumulation_steps() == 256
    assert SFTRunConfig().accumulation_steps(processes=4) == 32
    assert DPORunConfig(global_batch_size=0, gradient_accumulation_steps=3).accumulation_steps(processes=2) == 3
    with pytest.raises(ConfigError, match="not a multiple of 2 rows x 3 processes"):
        SFTRunConfig().accumulation_steps(processes=3)


@pytest.mark.parametrize(("data", "message"), [
    ({"lerning_rate": 1e-6}, "Unknown DPORunConfig option(s): lerning_rate."),
    ({"learning_rate": -1e-5}, "learning_rate must be greater than 0."),
    ({"learning_rate": "fast"}, "learning_rate must be a number."),
    ({"max_steps": 0}, "max_steps must be -1 (run the epochs) or at least 1."),
    ({"max_steps": -5}, "max_steps must be at least -1."),
    ({"max_steps": 2.5}, "max_steps must be a whole number."),
    ({"lora_dropout": 1}, "lora_dropout must be at most 0.9."),
    ({"precision": "fp8"}, "Unknown precision: fp8 (choose from auto, bf16, fp16, fp32)."),
    ({"global_batch_size": 10, "per_device_train_batch_size": 4}, "global_batch_size 10 is not a multiple of"),
    ({"use_peft": "yes"}, "use_peft must be true or false."),
])
def test_it_refuses_bad_options_with_a_message_naming_them(data, message):
    with pytest.raises(ConfigError) as refused:
        parse_config("dpo", data)
    assert str(refused.value).startswith(message)


def test_it_takes_whole_numbers_for_float_options():
    config = parse_config("sft", {"learning_rate": 1, "max_steps": 3})
    assert config.learning_rate == 1.0 and isinstance(config.learning_rate, float) and config.max_steps == 3


def test_sft_has_no_dpo_options():
    with pytest.raises(ConfigError, match=r"Unknown SFTRunConfig option\(s\): beta\."):
        parse_config("sft", {"beta": 0.1})


@pytest.mark.django_db
def test_it_refuses_a_version_of_the_wrong_kind_before_a_job_exists(sft_version, tiny_model_dir):
    wrong_kind = r"A DPO run needs a dataset version of kind preference; sft-real@v1 is of kind sft\."
    with pytest.raises(TrainingError, match=wrong_kind):
        do_create_training_run("dpo", sft_version, str(tiny_model_dir))
    assert not Job.objects.filter(kind="training_run").exists() and not TrainingRun.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("options", "message"), [
    ({"attributes": ["accuracy"]}, "pairs@v1 has no attribute accuracy (it has: clarity, focus)."),
    ({"pair_types": ["more_less"]}, "pairs@v1 has no pair type more_less"),
    ({"config": {"learning_rate": -1}}, "learning_rate must be greater than 0."),
    ({"name": "Bad Name"}, "Model name 'Bad Name': use lowercase letters"),
    ({"queue": "tpu"}, "Unknown queue 'tpu'"),
])
def test_it_refuses_a_run_the_version_or_options_cannot_make(pairs, tiny_model_dir, options, message):
    with pytest.raises(TrainingError) as refused:
        do_create_training_run("dpo", pairs, str(tiny_model_dir), **options)
    assert str(refused.value).startswith(message)
    assert not TrainingRun.objects.exists()


@pytest.mark.django_db
def test_it_refuses_a_base_model_it_cannot_find(pairs, tmp_path):
    with pytest.raises(TrainingError, match=r"No model 'nowhere': give a folder holding config\.json"):
        do_create_training_run("dpo", pairs, "nowhere")


@pytest.mark.django_db
def test_a_small_model_trains_on_the_default_queue_and_the_run_records_every_option(pairs, tiny_model_dir):
    run = do_create_training_run("dpo", pairs, str(tiny_model_dir), config={"beta": 0.5})
    assert run.job.queue == "default" and run.job.params == {"run_id": run.pk}
    assert run.config == {**DPORunConfig().to_dict(), "beta": 0.5}
    assert run.output_dir == f"training/run-{run.pk}"
