"""Queue training runs and merges, checked first, and register the models they make (API, forms and CLI)."""

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from dataversions.models import DatasetKind, DatasetVersion, VersionStatus
from jobs.actions import do_enqueue_job
from jobs.configs import ConfigError
from jobs.models import FINISHED_STATUSES, Job, Queue
from synthesis.actions import do_register_local_model
from synthesis.models import Backend, ModelEndpoint

from .configs import TRAINING_JOB, TrainingConfig, parse_config
from .distributed import preset_uses_gpu
from .merging import MergeError, MergeSource, check_same_architecture, normalized
from .models import ModelKind, ModelParent, TrainedModel, TrainingMethod, TrainingRun

MERGE_JOB = "model_merge"
SERVE_JOB = "model_serving"
# Models whose weights fit in this many bytes train on the default (CPU) queue unless a queue is named.
CPU_SIZED_BYTES = 2 * 1024**3
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
METHOD_KINDS: dict[str, str] = {TrainingMethod.DPO: DatasetKind.PREFERENCE, TrainingMethod.RM: DatasetKind.PREFERENCE,
                TrainingMethod.SFT: DatasetKind.SFT}


class TrainingError(ValueError):
    """A run or merge that cannot be queued; the message says what to change (the same from every front end)."""


def find_dataset_version(value: str | int) -> DatasetVersion:
    """Return the version named by its id or NAME@vN."""
    versions = DatasetVersion.objects.select_related("dataset")
    text = str(value)
    name, _, number = text.partition("@v")
    if text.isascii() and text.isdigit():
        found = versions.filter(pk=int(text)).first()
    elif number.isascii() and number.isdigit():
        found = versions.filter(dataset__name=name, number=int(number)).first()
    else:
        found = None
    if found is None:
        raise TrainingError(f"No dataset version {text!r} (give its id or NAME@vN).")
    return found


def resolve_model(value: str) -> tuple[Path, TrainedModel | None]:
    """Return the folder of a registered model (trained here or a local endpoint) or of a model folder."""
    value = str(value).strip()
    trained = TrainedModel.objects.filter(name=value).first()
    if trained is not None:
        return trained.folder, trained
    endpoint = ModelEndpoint.objects.filter(name=value, backend=Backend.TRANSFORMERS).first()
    path = Path(endpoint.model if endpoint else value).expanduser()
    if not (path / "config.json").is_file():
        raise TrainingError(f"No model {value!r}: give a folder holding config.json, or a registered model's name.")
    return path.resolve(), None


def weights_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.glob("*.safetensors")) + sum(
        p.stat().st_size for p in folder.glob("*.bin"))


def default_queue(folder: Path) -> str:
    """Return the gpu queue, or default for a model small enough to train on CPU workers."""
    return Queue.DEFAULT if weights_bytes(folder) <= CPU_SIZED_BYTES else Queue.GPU


def check_name(name: str) -> str:
    if not name:
        return name
    if not NAME_PATTERN.match(name):
        raise TrainingError(f"Model name {name!r}: use lowercase letters, digits, - and _ (at most 64).")
    if TrainedModel.objects.filter(name=name).exists() or ModelEndpoint.objects.filter(name=name).exists():
        raise TrainingError(f"A model named {name!r} is already registered.")
    unfinished = TrainingRun.objects.filter(name=name).exclude(job__status__in=FINISHED_STATUSES)
    if unfinished.exists():
        raise TrainingError(f"Run {cast(TrainingRun, unfinished.first()).pk} will register a model named {name!r}.")
    return name


def check_selection(method: str, version: DatasetVersion, attributes: list[str], pair_types: list[str]) -> None:
    if method == TrainingMethod.SFT:
        if attributes or pair_types:
            raise TrainingError("An SFT run takes every row of its version; select attributes when building the "
                                "version instead.")
        return
    for label, wanted, present in (("attribute", attributes, version.counts.get("attribute", {})),
                                   ("pair type", pair_types, version.counts.get("pair_type", {}))):
        if missing := [value for value in wanted if value not in present]:
            raise TrainingError(f"{version} has no {label} {', '.join(missing)} (it has: "
                                f"{', '.join(sorted(present)) or 'none'}).")


def check_run_request(method: str, version: DatasetVersion, base_model: str, attributes: list[str],
                      pair_types: list[str], config: dict | None) -> tuple[TrainingConfig, Path, TrainedModel | None]:
    """Check everything a run needs before a job exists; raise TrainingError with the one message to show."""
    if method not in TrainingMethod.values:
        raise TrainingError(f"Unknown method {method!r}; known: {', '.join(TrainingMethod.values)}.")
    try:
        options = parse_config(method, config)
    except ConfigError as exc:
        raise TrainingError(str(exc)) from exc
    wanted = METHOD_KINDS[method]
    if version.kind != wanted:
        raise TrainingError(f"A {TrainingMethod(method).label} run needs a dataset version of kind {wanted}; "
                            f"{version} is of kind {version.kind}.")
    if version.status != VersionStatus.READY:
        raise TrainingError(f"{version} is {version.get_status_display().lower()}; only a ready version trains.")
    if not version.counts.get("split", {}).get("train"):
        raise TrainingError(f"{version} has no train rows.")
    check_selection(method, version, attributes, pair_types)
    folder, trained = resolve_model(base_model)
    return options, folder, trained


def do_create_training_run(method: str, version: DatasetVersion, base_model: str, *, attributes: Iterable[str] = (),
                           pair_types: Iterable[str] = (), config: dict[str, Any] | None = None, name: str = "",
                           user: User | None = None, queue: str = "") -> TrainingRun:
    """Check the request, then create the run and queue its job (gpu, or default for a CPU-sized model on a
    CPU accelerate config)."""
    wanted_attributes, wanted_types = sorted(set(attributes)), sorted(set(pair_types))
    options, folder, trained = check_run_request(method, version, base_model, wanted_attributes, wanted_types, config)
    name = check_name(name)
    if queue and queue not in Queue.values:
        raise TrainingError(f"Unknown queue {queue!r}; known: {', '.join(Queue.values)}.")
    with transaction.atomic():
        run = TrainingRun.objects.create(
            name=name, method=method, base_model=base_model, base_model_path=str(folder), base_trained_model=trained,
            dataset_version=version, attributes=wanted_attributes, pair_types=wanted_types, config=options.to_dict(),
            created_by=user)
        run.output_dir = f"training/run-{run.pk}"
        queue = queue or (Queue.GPU if preset_uses_gpu(options.accelerate_config) else default_queue(folder))
        run.job = do_enqueue_job(TRAINING_JOB, {"run_id": run.pk}, owner=user, queue=queue)
        run.save(update_fields=["output_dir", "job"])
    return run


def model_folder(name: str) -> Path:
    return Path(settings.MODELS_DIR) / "trained" / name


def stored_path(folder: Path) -> str:
    """Return the folder relative to the var directory when it lies inside it (pages never show server paths)."""
    try:
        return str(folder.resolve().relative_to(Path(settings.VAR_DIR).resolve()))
    except ValueError:
        return str(folder.resolve())


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def model_kind(folder: Path) -> str:
    architectures = json.loads((folder / "config.json").read_text()).get("architectures") or []
    return ModelKind.REWARD if any(a.endswith("ForSequenceClassification") for a in architectures) else ModelKind.POLICY


def do_register_trained_model(name: str, folder: Path, *, run: TrainingRun | None = None, base_model: str = "",
                              config: dict | None = None, final_metrics: dict | None = None,
                              parents: Sequence[tuple[TrainedModel, float]] = (),
                              user: User | None = None) -> TrainedModel:
    """Register a model folder with its lineage; a policy also becomes a transformers endpoint (one catalogue)."""
    kind = model_kind(folder)
    version = run.dataset_version if run else None
    with transaction.atomic():
        model = TrainedModel.objects.create(
            name=name, kind=kind, path=stored_path(folder), base_model=base_model, run=run, dataset_version=version,
            dataset_hash=version.content_hash if version else "", config=config or {},
            final_metrics=final_metrics or {}, size_bytes=folder_bytes(folder), created_by=user)
        ModelParent.objects.bulk_create([ModelParent(child=model, parent=parent, weight=weight, position=n)
                                         for n, (parent, weight) in enumerate(parents)])
        if kind == ModelKind.POLICY:  # a reward model scores; it cannot generate, so it is no endpoint
            model.endpoint = do_register_local_model(name, folder, notes=f"Registered by training: {model}.")
            model.save(update_fields=["endpoint"])
    return model


def merge_sources(values: list[str]) -> list[tuple[MergeSource, TrainedModel | None]]:
    sources: list[tuple[MergeSource, TrainedModel | None]] = []
    for value in values:
        folder, trained = resolve_model(value)
        sources.append((MergeSource(trained.name if trained else str(value), folder), trained))
    return sources


def merge_plan(name: str, values: list[str], weights: list[float] | None, leave_one_out: bool) -> list[dict]:
    """Return the merges to write: the full average, then (if asked) each average without one source."""
    plan = [{"name": name, "sources": list(values), "weights": normalized(weights, len(values))}]
    if leave_one_out:
        if len(values) < 3:
            raise MergeError("A leave-one-out merge needs at least three models.")
        for n, left_out in enumerate(values):
            kept = [v for k, v in enumerate(values) if k != n]
            kept_weights = [w for k, w in enumerate(weights or [1.0] * len(values)) if k != n]
            label = re.sub(r"[^a-z0-9_-]+", "-", Path(left_out).name.lower()).strip("-")
            plan.append({"name": f"{name}-wo-{label}"[:64], "sources": kept, "weights": normalized(kept_weights,
                                                                                                   len(kept))})
    return plan


def do_create_merge(values: list[str], name: str, *, weights: list[float] | None = None, leave_one_out: bool = False,
                    user: User | None = None) -> Job:
    """Check that the models share an architecture, then queue the job that averages them (default queue)."""
    try:
        plan = merge_plan(name, list(values), weights, leave_one_out)
        check_same_architecture([source for source, _ in merge_sources(list(values))])
    except MergeError as exc:
        raise TrainingError(str(exc)) from exc
    for merge in plan:
        check_name(merge["name"])
    if len({merge["name"] for merge in plan}) != len(plan):
        raise TrainingError("Two leave-one-out merges would get the same name; give the models distinct names.")
    return do_enqueue_job(MERGE_JOB, {"merges": plan}, owner=user, queue=Queue.DEFAULT)



def served_endpoint_name(model: TrainedModel) -> str:
    return f"{model.name[:59]}-http"


def serving_job(model: TrainedModel) -> Job | None:
    """Return the unfinished job serving `model`, if any."""
    return (Job.objects.filter(kind=SERVE_JOB, params__model_id=model.pk).exclude(status__in=FINISHED_STATUSES)
            .order_by("-pk").first())


def do_serve_model(model: TrainedModel, *, port: int = 0, user: User | None = None) -> Job:
    """Queue a job that serves a policy model over HTTP until it is cancelled, as endpoint `<name>-http`."""
    if model.kind != ModelKind.POLICY:
        raise TrainingError(f"{model} is a reward model: it scores, it does not generate, so it cannot be served.")
    if not 0 <= port <= 65535:
        raise TrainingError(f"Port {port} is not a TCP port (0 to 65535; 0 picks a free one).")
    if (job := serving_job(model)) is not None:
        raise TrainingError(f"{model} is already being served by job {job.pk}; stop it first.")
    queue = default_queue(model.folder)
    return do_enqueue_job(SERVE_JOB, {"model_id": model.pk, "port": port}, owner=user, queue=queue)
