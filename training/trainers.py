"""Build TRL's config and trainer (DPOTrainer, SFTTrainer, RewardTrainer) from a run row, and save what it trained."""

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from transformers import TrainerCallback

from .configs import TrainingConfig
from .models import TrainingMethod, TrainingRun

if TYPE_CHECKING:
    import datasets
    from peft import LoraConfig
    from transformers import Trainer, TrainingArguments

# The platform's options that are not TrainingArguments fields; every other option passes to TRL under its name.
PLATFORM_OPTIONS = {"global_batch_size", "precision", "min_lr_rate", "use_peft", "lora_r", "lora_alpha",
                    "lora_dropout", "lora_target_modules", "eval_steps", "accelerate_config"}


def uses_gpu() -> bool:
    return torch.cuda.is_available()


def precision_flags(precision: str) -> dict:
    """Return TRL's bf16/fp16 flags; weights stay fp32 (mixed precision, as the authors' DeepSpeed bf16 runs)."""
    if precision == "auto":
        precision = "bf16" if uses_gpu() and torch.cuda.is_bf16_supported() else "fp32"
    return {"bf16": precision == "bf16", "fp16": precision == "fp16"}


def trl_config(run: TrainingRun, output_dir: Path, has_eval: bool, processes: int = 1) -> "TrainingArguments":
    """Return the TRL config of the run's method with the run's options."""
    from trl import DPOConfig, RewardConfig, SFTConfig

    options: TrainingConfig = run.options
    passed = {k: v for k, v in options.to_dict().items() if k not in PLATFORM_OPTIONS}
    evaluating = has_eval and options.eval_steps > 0
    passed.update(
        output_dir=str(output_dir), gradient_accumulation_steps=options.accumulation_steps(processes),
        per_device_eval_batch_size=options.per_device_train_batch_size,
        lr_scheduler_kwargs={"min_lr_rate": options.min_lr_rate} if options.lr_scheduler_type ==
        "cosine_with_min_lr" else None,
        save_strategy="steps", eval_strategy="steps" if evaluating else "no",
        eval_steps=options.eval_steps if evaluating else None, report_to="none", use_cpu=not uses_gpu(),
        dataloader_num_workers=0, disable_tqdm=True, model_init_kwargs={"dtype": "float32"},
        **precision_flags(options.precision),
    )
    if passed.get("center_rewards_coefficient") == 0:
        passed["center_rewards_coefficient"] = None  # TRL's "off"
    trl_class: dict[str, Any] = {TrainingMethod.DPO: DPOConfig, TrainingMethod.SFT: SFTConfig,
                                 TrainingMethod.RM: RewardConfig}
    return trl_class[run.method](**passed)


def peft_config(run: TrainingRun) -> "LoraConfig | None":
    """Return the LoRA config of a run that asked for one, else None."""
    if not run.options.use_peft:
        return None
    from peft import LoraConfig

    options = run.options
    targets = options.lora_target_modules
    return LoraConfig(
        r=options.lora_r, lora_alpha=options.lora_alpha, lora_dropout=options.lora_dropout,
        target_modules=targets if targets == "all-linear" else [t.strip() for t in targets.split(",") if t.strip()],
        # A reward model's new score head must be trained in full; SEQ_CLS marks it so.
        task_type="SEQ_CLS" if run.method == TrainingMethod.RM else "CAUSAL_LM",
    )


def build_trainer(run: TrainingRun, train: "datasets.Dataset", validation: "datasets.Dataset | None", output_dir: Path,
                  callbacks: list[TrainerCallback], processes: int = 1) -> "Trainer":
    """Return the TRL trainer of the run (one of `processes` ranks), loading its base model and tokenizer."""
    from transformers import AutoTokenizer
    from trl import DPOTrainer, RewardTrainer, SFTTrainer

    trainer_classes: dict[str, Any] = {TrainingMethod.DPO: DPOTrainer, TrainingMethod.SFT: SFTTrainer,
                                       TrainingMethod.RM: RewardTrainer}
    trainer_class = trainer_classes[run.method]
    tokenizer = AutoTokenizer.from_pretrained(run.base_model_path)
    if tokenizer.pad_token is None:  # Llama tokenizers ship none; TRL pads batches
        tokenizer.pad_token = tokenizer.eos_token
    return trainer_class(
        model=run.base_model_path, args=trl_config(run, output_dir, validation is not None, processes),
        train_dataset=train, eval_dataset=validation, processing_class=tokenizer, callbacks=callbacks,
        peft_config=peft_config(run),
    )


def save_trained_model(trainer: "Trainer", folder: Path) -> None:
    """Save a full model folder that transformers loads (a LoRA adapter merged into its base first).

    Every rank calls it: the trainer's save gathers FSDP or ZeRO-3 shards; only the main process writes.
    """
    model = trainer.accelerator.unwrap_model(trainer.model)
    if hasattr(model, "merge_and_unload"):
        if trainer.is_world_process_zero():  # data-parallel ranks hold the same adapter; rank 0 merges it
            folder.mkdir(parents=True, exist_ok=True)
            model.merge_and_unload().save_pretrained(folder)
    else:
        trainer.save_model(str(folder))
    if trainer.is_world_process_zero():
        trainer.processing_class.save_pretrained(folder)
    trainer.accelerator.wait_for_everyone()
