"""The trainer callback that streams a run's metrics into rows and its progress into the job (and stops on cancel)."""

import math
import time
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from transformers import TrainerCallback

from jobs.runner import JobContext

from .models import TrainingMetric, TrainingRun

if TYPE_CHECKING:
    from transformers import TrainerControl, TrainerState, TrainingArguments

# TRL's log names → TrainingMetric columns; a reward model logs accuracy and margin under shorter names.
COLUMNS = {
    "loss": "loss", "learning_rate": "learning_rate", "grad_norm": "grad_norm", "epoch": "epoch",
    "rewards/chosen": "rewards_chosen", "rewards/rejected": "rewards_rejected",
    "rewards/accuracies": "rewards_accuracies", "rewards/margins": "rewards_margins",
    "accuracy": "rewards_accuracies", "margin": "rewards_margins", "num_tokens": "num_tokens",
}
SUMMARY_KEYS = ("train_runtime", "train_loss")  # the trainer's last log: the run's summary, not a step


def finite(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def metric_fields(logs: dict) -> tuple[str, dict]:
    """Return the split (train or eval) and the columns of one trainer log."""
    split = "eval" if any(key.startswith("eval_") for key in logs) else "train"
    names = {key.removeprefix("eval_"): value for key, value in logs.items()}
    columns = {column: finite(names[name]) for name, column in COLUMNS.items() if name in names}
    values = {key: finite(value) for key, value in logs.items() if finite(value) is not None}
    return split, {**columns, "values": values}


def record_metric(run: TrainingRun, step: int, logs: dict, tokens_per_second: float | None = None) -> TrainingMetric:
    """Write one logged step; a step logged again (after a resume) replaces the earlier row."""
    split, columns = metric_fields(logs)
    if split == "train":
        columns["tokens_per_second"] = tokens_per_second
    metric, _ = TrainingMetric.objects.update_or_create(
        run=run, split=split, step=step, defaults={**columns, "logged_at": timezone.now()})
    return metric


class JobProgressCallback(TrainerCallback):
    """Report steps to the job (whose flush raises JobCancelled on a cancel) and every log to TrainingMetric."""

    def __init__(self, run: TrainingRun, ctx: JobContext) -> None:
        self.run = run
        self.ctx = ctx
        self.summary: dict = {}
        self._last = (time.monotonic(), 0.0)  # (when, num_tokens) at the previous train log of this attempt

    def on_train_begin(self, args: "TrainingArguments", state: "TrainerState", control: "TrainerControl",
                       **kwargs: Any) -> None:
        self.ctx.set_total(state.max_steps, "steps")
        self.ctx.set_done(state.global_step)
        self._last = (time.monotonic(), 0.0)

    def on_step_end(self, args: "TrainingArguments", state: "TrainerState", control: "TrainerControl",
                    **kwargs: Any) -> None:
        self.ctx.set_done(state.global_step)  # throttled; checks for a cancel when it writes

    def on_train_end(self, args: "TrainingArguments", state: "TrainerState", control: "TrainerControl",
                     **kwargs: Any) -> None:
        self.ctx.set_done(state.global_step)
        self.ctx.flush(force=True)  # the throttle may have held back the last steps

    def on_log(self, args: "TrainingArguments", state: "TrainerState", control: "TrainerControl",
               logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        logs = logs or {}
        if any(key in logs for key in SUMMARY_KEYS):
            self.summary.update({k: v for k, v in logs.items() if finite(v) is not None})
            return
        record_metric(self.run, state.global_step, logs, self.tokens_per_second(logs))
        if "loss" in logs:
            self.ctx.note(f"step {state.global_step}/{state.max_steps} loss {logs['loss']:.4f}")

    def on_evaluate(self, args: "TrainingArguments", state: "TrainerState", control: "TrainerControl",
                    **kwargs: Any) -> None:
        self.restart_clock()

    def on_save(self, args: "TrainingArguments", state: "TrainerState", control: "TrainerControl",
                **kwargs: Any) -> None:
        self.ctx.log(f"checkpoint-{state.global_step} saved")
        self.restart_clock()

    def restart_clock(self) -> None:
        """Leave evaluation and checkpoint time out of the next tokens/s (they run after a step's log)."""
        self._last = (time.monotonic(), self._last[1])

    def tokens_per_second(self, logs: dict) -> float | None:
        tokens = finite(logs.get("num_tokens"))
        if tokens is None or any(key.startswith("eval_") for key in logs):
            return None
        now = time.monotonic()
        (then, before), self._last = self._last, (now, tokens)
        return (tokens - before) / (now - then) if now > then and tokens >= before else None
