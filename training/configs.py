"""Training options as job configs (jobs.configs): TRL's own names, the authors' defaults (method.md §4.2) as presets.

One config per method; a run stores the method's config, every option filled in, as its `config`.
"""

from dataclasses import dataclass, field
from typing import ClassVar

from jobs.configs import ConfigError, JobConfig, register_config

from .distributed import PRESETS, preset_processes

PRECISIONS = ("auto", "bf16", "fp16", "fp32")
SCHEDULERS = ("cosine_with_min_lr", "cosine", "linear", "constant_with_warmup", "constant")
DPO_LOSSES = ("sigmoid", "ipo", "hinge", "robust")
TRAINING_JOB = "training_run"  # the job kind; training.actions queues it
POSITIVE = {"min": 0, "min_exclusive": True}


@dataclass
class TrainingConfig(JobConfig):
    """Options every method shares (TRL / transformers names, except the few marked as the platform's)."""

    METHOD: ClassVar[str] = ""

    learning_rate: float = field(default=5e-7, metadata={**POSITIVE, "help": "Peak AdamW learning rate."})
    num_train_epochs: float = field(default=1.0, metadata={**POSITIVE, "help": "Passes over the training split."})
    max_steps: int = field(default=-1, metadata={
        "min": -1, "help": "Stop after this many optimizer steps (-1: run the epochs). Short smoke runs set it."})
    global_batch_size: int = field(default=256, metadata={
        "min": 0, "help": "Platform option: rows per optimizer step over all processes, as the authors set it; "
                          "gradient_accumulation_steps becomes global / (per-device batch x processes). "
                          "0: use gradient_accumulation_steps as given."})
    per_device_train_batch_size: int = field(default=1, metadata={
        "min": 1, "help": "Rows per forward pass on one device."})
    gradient_accumulation_steps: int = field(default=1, metadata={
        "min": 1, "help": "Forward passes per optimizer step; used only when global_batch_size is 0."})
    max_length: int = field(default=2048, metadata={
        "min": 16, "help": "Tokens per sequence (prompt and completion)."})
    lr_scheduler_type: str = field(default="cosine_with_min_lr", metadata={
        "choices": SCHEDULERS,
        "help": "Learning-rate schedule; the authors' OpenRLHF runs decay by cosine to min_lr_rate x lr."})
    min_lr_rate: float = field(default=0.1, metadata={
        "min": 0, "max": 1,
        "help": "Platform option: cosine_with_min_lr ends at this fraction of the peak (OpenRLHF's 0.1)."})
    warmup_steps: float = field(default=0.03, metadata={
        "min": 0, "help": "Linear warm-up: a fraction of the steps when below 1 (the authors' 0.03), else steps."})
    weight_decay: float = field(default=0.0, metadata={"min": 0, "help": "AdamW weight decay (the authors: 0)."})
    max_grad_norm: float = field(default=1.0, metadata={**POSITIVE, "help": "Gradient clipping norm."})
    precision: str = field(default="auto", metadata={
        "choices": PRECISIONS,
        "help": "Platform option: auto (bf16 on a GPU that has it, else fp32), bf16, fp16 or fp32."})
    gradient_checkpointing: bool = field(default=True, metadata={
        "help": "Recompute activations in the backward pass (less memory, about 20% slower); the authors used it."})
    seed: int = field(default=42, metadata={
        "min": 0, "help": "Seeds the model initialisation, the data order and dropout."})
    save_steps: int = field(default=10, metadata={
        "min": 1,
        "help": "Write a checkpoint every this many steps (the authors: 10); a lost worker resumes from the last."})
    save_total_limit: int = field(default=1, metadata={"min": 1, "help": "Checkpoints kept (the authors kept 1)."})
    eval_steps: int = field(default=10, metadata={
        "min": 0, "help": "Evaluate on the validation split every this many steps (the authors: 10); 0: never."})
    logging_steps: int = field(default=1, metadata={"min": 1, "help": "Record metrics every this many steps."})
    use_peft: bool = field(default=False, metadata={
        "help": "Train a LoRA adapter (peft) and merge it into the model at the end, instead of all weights."})
    lora_r: int = field(default=16, metadata={"min": 1, "help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={
        "min": 1, "help": "LoRA scaling numerator (alpha / r scales the update)."})
    lora_dropout: float = field(default=0.05, metadata={"min": 0, "max": 0.9, "help": "Dropout on the LoRA input."})
    lora_target_modules: str = field(default="all-linear", metadata={
        "help": "Comma-separated module names to adapt, or all-linear."})
    accelerate_config: str = field(default="single", metadata={
        "choices": PRESETS,
        "help": "Platform option: the accelerate config (training/accelerate/) the run is launched with: single "
                "(in the worker's process), ddp-cpu-2, ddp-gpu-N, fsdp or deepspeed-zero3."})

    def check(self) -> None:
        """Refuse what no single option's bounds catch."""
        if self.max_steps == 0:
            raise ConfigError("max_steps must be -1 (run the epochs) or at least 1.", field="max_steps")
        if self.global_batch_size and self.global_batch_size % self.per_device_train_batch_size:
            raise ConfigError(f"global_batch_size {self.global_batch_size} is not a multiple of "
                              f"per_device_train_batch_size {self.per_device_train_batch_size}.",
                              field="global_batch_size")
        try:
            self.accumulation_steps(preset_processes(self.accelerate_config))
        except ConfigError as exc:
            raise ConfigError(f"{exc} ({self.accelerate_config} runs {preset_processes(self.accelerate_config)} "
                              "processes)", field="global_batch_size") from exc

    def accumulation_steps(self, processes: int = 1) -> int:
        """Return gradient_accumulation_steps for a run on `processes` data-parallel processes."""
        if not self.global_batch_size:
            return self.gradient_accumulation_steps
        per_step = self.per_device_train_batch_size * processes
        if self.global_batch_size % per_step:
            raise ConfigError(f"global_batch_size {self.global_batch_size} is not a multiple of "
                              f"{self.per_device_train_batch_size} rows x {processes} processes.")
        return self.global_batch_size // per_step


@register_config("train_dpo", job_kind=TRAINING_JOB, form="training.forms.DPOOptionsForm",
                 serializer="training.serializers.DPOOptionsSerializer", command="train --method dpo")
@dataclass
class DPORunConfig(TrainingConfig):
    """DPO (TRL's DPOTrainer) with the authors' settings: beta 2, lr 5e-7, 1 epoch, global batch 256 / micro 1."""

    METHOD: ClassVar[str] = "dpo"

    beta: float = field(default=2.0, metadata={
        **POSITIVE, "help": "Strength of the pull towards the reference model; the authors used 2 (TRL's: 0.1)."})
    loss_type: str = field(default="sigmoid", metadata={
        "choices": DPO_LOSSES, "help": "DPO loss: sigmoid (the paper's), ipo, hinge or robust."})
    label_smoothing: float = field(default=0.0, metadata={
        "min": 0, "max": 0.49, "help": "Robust DPO's assumed rate of flipped preference labels."})
    precompute_ref_log_probs: bool = field(default=False, metadata={
        "help": "Score the reference model once before training instead of at every step (faster, more memory)."})


@register_config("train_sft", job_kind=TRAINING_JOB, form="training.forms.SFTOptionsForm",
                 serializer="training.serializers.SFTOptionsSerializer", command="train --method sft")
@dataclass
class SFTRunConfig(TrainingConfig):
    """SFT (TRL's SFTTrainer) with the authors' settings: lr 5e-6, 2 epochs, global batch 256 / micro 2."""

    METHOD: ClassVar[str] = "sft"

    learning_rate: float = field(default=5e-6, metadata={**POSITIVE, "help": "Peak AdamW learning rate."})
    num_train_epochs: float = field(default=2.0, metadata={**POSITIVE, "help": "Passes over the training split."})
    per_device_train_batch_size: int = field(default=2, metadata={
        "min": 1, "help": "Rows per forward pass on one device."})
    completion_only_loss: bool = field(default=True, metadata={
        "help": "Learn only the doctor's final question, not the thread before it (as OpenRLHF's SFT does)."})
    packing: bool = field(default=False, metadata={
        "help": "Pack several rows into one sequence; the authors packed with flash-attention, which needs a GPU."})


@register_config("train_rm", job_kind=TRAINING_JOB, form="training.forms.RewardOptionsForm",
                 serializer="training.serializers.RewardOptionsSerializer", command="train --method rm")
@dataclass
class RewardRunConfig(TrainingConfig):
    """Reward model (TRL's RewardTrainer, Bradley-Terry) with the authors' settings: lr 9e-6, 1 epoch, micro 2."""

    METHOD: ClassVar[str] = "rm"

    learning_rate: float = field(default=9e-6, metadata={**POSITIVE, "help": "Peak AdamW learning rate."})
    per_device_train_batch_size: int = field(default=2, metadata={
        "min": 1, "help": "Pairs per forward pass on one device."})
    center_rewards_coefficient: float = field(default=0.0, metadata={
        "min": 0, "help": "Pull the mean reward towards zero with this weight (0: off, as the authors ran it)."})


CONFIGS: dict[str, type[TrainingConfig]] = {c.METHOD: c for c in (DPORunConfig, SFTRunConfig, RewardRunConfig)}


def config_class(method: str) -> type[TrainingConfig]:
    if method not in CONFIGS:
        raise ConfigError(f"Unknown method {method!r}; known: {', '.join(CONFIGS)}.")
    return CONFIGS[method]


def parse_config(method: str, data: dict | None) -> TrainingConfig:
    """Return the checked config of a `method` run; every front end calls this, so they refuse alike."""
    return config_class(method).from_dict(data or {})
