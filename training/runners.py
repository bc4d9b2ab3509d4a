"""Job runners: train a run (resuming from its last checkpoint after a lost worker) and merge models."""

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings

from jobs.models import Queue
from jobs.runner import JobContext, job_runner

from .actions import (
    MERGE_JOB,
    SERVE_JOB,
    TRAINING_JOB,
    do_register_trained_model,
    merge_sources,
    model_folder,
    served_endpoint_name,
    stored_path,
)
from .distributed import preset_processes, run_launched
from .models import TrainedModel, TrainingRun

# torch, transformers and datasets are imported by the functions that train or merge, not here: every process
# imports this module at start (it registers the job kinds), and they would add ~430 MB and ~10 s to each web
# server, worker and manage.py command.
if TYPE_CHECKING:
    import datasets
    from transformers import Trainer, TrainerCallback

    from synthesis.serving import ModelServer

    from .callbacks import JobProgressCallback


def last_checkpoint(output_dir: Path) -> Path | None:
    """Return the newest complete checkpoint-N folder (the trainer's state is written last), or None."""
    done = [path for path in output_dir.glob("checkpoint-*")
            if path.name.removeprefix("checkpoint-").isdigit() and (path / "trainer_state.json").is_file()]
    return max(done, key=lambda path: int(path.name.removeprefix("checkpoint-")), default=None)


def final_metrics(trainer: "Trainer", progress: "JobProgressCallback") -> dict[str, Any]:
    last = progress.run.metrics.filter(split="train").order_by("-step").first()
    last_eval = progress.run.metrics.filter(split="eval").order_by("-step").first()
    return {"global_step": trainer.state.global_step, "world_size": trainer.args.world_size, **progress.summary,
            **(last.values if last else {}), **({f"last_{k}": v for k, v in last_eval.values.items()}
                                                 if last_eval else {})}


def train_run(run: TrainingRun, ctx: JobContext, callbacks: Sequence["TrainerCallback"] = ()) -> TrainedModel:
    """Train the run from its export (from its last checkpoint, if an earlier attempt wrote one) and register it.

    A run whose accelerate config has several processes is launched (training.distributed) and waited for.
    """
    from .data import load_run_data

    if (model := TrainedModel.objects.filter(run=run).first()) is not None:
        ctx.log(f"model {model} already registered")
        return model
    train, validation, export = load_run_data(run)  # here, so the ranks only read the export
    TrainingRun.objects.filter(pk=run.pk).update(export=export, train_rows=len(train))
    ctx.log(f"{run.get_method_display()} on {len(train)} rows of {run.dataset_version} "
            f"(attributes: {', '.join(run.attributes) or 'all'}; pair types: {', '.join(run.pair_types) or 'all'})")
    if preset_processes(run.options.accelerate_config) > 1:
        run_launched(run.options.accelerate_config, run.pk, ctx)
        model = TrainedModel.objects.get(run=run)
        ctx.log(f"registered {model} ({model.path})")
        return model
    return cast(TrainedModel, train_here(run, ctx, train, validation, callbacks))  # rank 0 returns its model


def train_here(run: TrainingRun, ctx: JobContext | None, train: "datasets.Dataset",
               validation: "datasets.Dataset | None", callbacks: Sequence["TrainerCallback"] = (), rank: int = 0,
               world_size: int = 1) -> TrainedModel | None:
    """Train in this process (one rank of `world_size`); rank 0 reports, saves and registers, and returns the model."""
    from .callbacks import JobProgressCallback
    from .trainers import build_trainer, save_trained_model

    progress = JobProgressCallback(run, cast(JobContext, ctx)) if rank == 0 else None  # rank 0 has the context
    trainer = build_trainer(run, train, validation, run.output_path, [c for c in (progress, *callbacks) if c],
                            processes=world_size)
    checkpoint = last_checkpoint(run.output_path)
    if checkpoint is not None and rank == 0:
        assert ctx is not None  # rank 0 reports
        ctx.log(f"resuming from {checkpoint.name}")
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    folder = model_folder(run.model_name)
    if rank == 0:
        assert ctx is not None  # rank 0 reports
        ctx.check_cancelled()  # a superseded attempt must not register a second model
    save_trained_model(trainer, folder)
    if rank != 0:
        return None
    assert ctx is not None and progress is not None  # rank 0 reports
    model = do_register_trained_model(
        run.model_name, folder, run=run, base_model=run.base_model, config=run.config,
        final_metrics=final_metrics(trainer, progress), user=run.created_by)
    shutil.rmtree(run.output_path, ignore_errors=True)  # checkpoints hold optimizer state: 3x the model, now unused
    ctx.log(f"registered {model} ({stored_path(folder)})")
    return model


@job_runner(TRAINING_JOB, queue=Queue.GPU, label="training run")
def run_training(ctx: JobContext) -> dict[str, Any]:
    run = TrainingRun.objects.select_related("dataset_version__dataset").get(pk=ctx.params["run_id"])
    model = train_run(run, ctx)
    return {"run_id": run.pk, "model": model.name, "folder": model.path,
            "global_step": model.final_metrics.get("global_step")}


@job_runner(MERGE_JOB, queue=Queue.DEFAULT, label="model merge")
def run_merge(ctx: JobContext) -> dict[str, Any]:
    """Write and register each planned merge; one already registered (an earlier attempt's) is kept."""
    from .merging import merge_folders

    merges = ctx.params["merges"]
    ctx.set_total(len(merges), "models")
    made: list[dict[str, str]] = []
    for merge in merges:
        existing = TrainedModel.objects.filter(name=merge["name"]).first()
        if existing is None:
            sources = merge_sources(merge["sources"])
            folder = model_folder(merge["name"])
            weights = merge_folders([source for source, _ in sources], folder, merge["weights"])
            parents = [(trained, weight) for (_, trained), weight in zip(sources, weights, strict=True) if trained]
            config = {"merge": {"method": "weighted_average", "weights": weights,
                                "sources": [source.label for source, _ in sources]}}
            existing = do_register_trained_model(merge["name"], folder, base_model=sources[0][0].label,
                                                 config=config, parents=parents, user=ctx.job.owner)
            ctx.log(f"registered {existing} = " + " + ".join(
                f"{w:.3g}x{s.label}" for (s, _), w in zip(sources, weights, strict=True)))
        made.append({"model": existing.name, "folder": existing.path})
        ctx.advance()
    return {"models": made}


CANCEL_POLL_SECONDS = 2.0  # a serving job asks the database for a cancel this often (one query each)


@job_runner(SERVE_JOB, queue=Queue.GPU, label="model serving")
def run_model_server(ctx: JobContext) -> dict[str, Any]:
    """Serve a registered model on /v1/chat/completions as an endpoint until the job is cancelled."""
    from synthesis.serving import serve_folder

    model = TrainedModel.objects.get(pk=ctx.params["model_id"])
    endpoint = served_endpoint_name(model)

    def ready(server: "ModelServer") -> None:
        ctx.log(f"serving {model} at {server.base_url} as endpoint {endpoint}; cancel the job to stop")
        ctx.set_result({"model": model.name, "endpoint": endpoint, "base_url": server.base_url})

    def keep_serving() -> bool:
        ctx.check_cancelled()  # raises when a cancel is requested: serve_folder stops and deactivates the endpoint
        return True

    serve_folder(str(model.folder), host=settings.MODEL_SERVE_HOST, port=ctx.params["port"], model_name=model.name,
                 endpoint_name=endpoint, keep_serving=keep_serving, on_ready=ready,
                 poll_s=CANCEL_POLL_SECONDS)
    return ctx.job.result
