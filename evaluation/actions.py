"""State changes of evaluation: find or register the models, create runs and queue their jobs."""

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.text import slugify

from jobs.actions import do_enqueue_job
from jobs.configs import JobConfig
from jobs.models import Job, Queue
from synthesis.actions import default_endpoint, do_register_local_model
from synthesis.configs import ConfigError
from synthesis.models import Attribute, ModelEndpoint

from .casesets import CaseSetError, get_case_set
from .configs import ExpertCheckConfig, GenerationConfig, InteractiveConfig, WinrateConfig
from .expert import ExpertCheckError
from .expert import do_start_expert_check as start_expert_check
from .models import EvaluationRun, RunKind
from .winrate import HUMAN, select_questions

RUN_PREFIX = "run:"
C = TypeVar("C", bound=JobConfig)


class EvaluationError(Exception):
    """An evaluation request that cannot be carried out as asked."""


def get_model_endpoint(name_or_path: str) -> ModelEndpoint:
    """Return the endpoint a model is evaluated through: an active endpoint by name, or a local model folder
    (registered as a transformers endpoint on first use). Trained models join the same catalogue."""
    endpoint = ModelEndpoint.objects.filter(name=name_or_path, is_active=True).first()
    if endpoint is not None:
        return endpoint
    path = Path(name_or_path).expanduser()
    if not (path.is_dir() and (path / "config.json").is_file()):
        raise EvaluationError(f"{name_or_path!r} is neither an active endpoint nor a local model folder.")
    resolved = str(path.resolve())
    endpoint = ModelEndpoint.objects.filter(backend="transformers", model=resolved, is_active=True).first()
    if endpoint is not None:
        return endpoint
    name = slugify(path.name)[:50] or "local-model"
    if ModelEndpoint.objects.filter(name=name).exists():
        name = f"{name}-{hashlib.sha256(resolved.encode()).hexdigest()[:8]}"
    return do_register_local_model(name, resolved)


def job_queue(*endpoints: ModelEndpoint | None) -> str:
    """A run goes to the GPU queue when any of its models needs a GPU."""
    return Queue.GPU if any(e is not None and e.default_queue == Queue.GPU for e in endpoints) else Queue.DEFAULT


def parse(cls: type[C], data: dict) -> C:
    try:
        return cls.from_dict(data)
    except ConfigError as exc:
        raise EvaluationError(str(exc)) from exc


def get_finished_run(spec: str, kind: str) -> EvaluationRun:
    try:
        run = EvaluationRun.objects.get(pk=int(spec.removeprefix(RUN_PREFIX)), kind=kind)
    except (ValueError, EvaluationRun.DoesNotExist):
        raise EvaluationError(f"No {kind} run {spec!r}.") from None
    if not run.is_finished:
        raise EvaluationError(f"Run {run.pk} has not finished.")
    return run


# Interactive ----------------------------------------------------------------------------------------------------

def do_enqueue_interactive(config: InteractiveConfig, owner: User | None = None) -> EvaluationRun:
    """Create an interactive run on a frozen case set and queue its job."""
    questioner = get_model_endpoint(config.model)
    expert = get_model_endpoint(config.expert_model)
    patient = get_model_endpoint(config.patient_llm) if config.patient == "llm" else None
    try:
        case_set = get_case_set(config.cases, owner)
    except CaseSetError as exc:
        raise EvaluationError(str(exc)) from exc
    baseline = None
    if config.baseline:
        baseline = get_finished_run(str(config.baseline), RunKind.INTERACTIVE)
    with transaction.atomic():
        run = EvaluationRun.objects.create(
            kind=RunKind.INTERACTIVE, model_name=questioner.model, endpoint=questioner, config=config.to_dict(),
            case_set=case_set, baseline=baseline, created_by=owner,
            provenance={"seeds": [config.seed + r for r in range(config.repeats)]})
        run.job = do_enqueue_job("evaluate_interactive", {"run": run.pk}, owner=owner,
                                 queue=job_queue(questioner, expert, patient))
        run.save(update_fields=["job"])
    return run


# Generation and win-rate ----------------------------------------------------------------------------------------

def check_questions(config: GenerationConfig | WinrateConfig) -> None:
    if not select_questions(config.split, config.qids, config.limit or 1):
        raise EvaluationError(f"No questions selected (split {config.split!r}); import the test questions first.")


def create_generation(config: GenerationConfig, owner: User | None = None, job: Job | None = None) -> EvaluationRun:
    endpoint = get_model_endpoint(config.model)
    return EvaluationRun.objects.create(kind=RunKind.GENERATION, model_name=endpoint.model, endpoint=endpoint,
                                        config={**config.to_dict(), "model": endpoint.name}, created_by=owner,
                                        job=job)


def do_enqueue_generation(config: GenerationConfig, owner: User | None = None) -> EvaluationRun:
    """Create a generation run for the selected questions and queue it."""
    check_questions(config)
    with transaction.atomic():
        run = create_generation(config, owner)
        run.job = do_enqueue_job("generate_questions", {"run": run.pk}, owner=owner, queue=job_queue(run.endpoint))
        run.save(update_fields=["job"])
    return run


def reusable_generation(config: GenerationConfig) -> EvaluationRun | None:
    """Return a finished generation with these exact settings, so two comparisons judge the same questions."""
    endpoint = get_model_endpoint(config.model)
    wanted = {**config.to_dict(), "model": endpoint.name}
    for run in EvaluationRun.objects.filter(kind=RunKind.GENERATION, endpoint=endpoint, finished_at__isnull=False):
        if run.config == wanted:
            return run
    return None


def generation_for(spec: str, config: WinrateConfig, owner: User | None) -> EvaluationRun:
    if spec.startswith(RUN_PREFIX):
        return get_finished_run(spec, RunKind.GENERATION)
    generation = config.generation(spec)
    return reusable_generation(generation) or create_generation(generation, owner)


def do_enqueue_winrate(config: WinrateConfig, owner: User | None = None) -> EvaluationRun:
    """Create a win-rate run (and the generation runs it still needs) and queue one job for all of it."""
    check_questions(config)
    judge = get_model_endpoint(config.judge) if config.judge else default_endpoint("judge")
    if judge is None:
        raise EvaluationError("No judge given and no default judge endpoint.")
    if config.attribute and not Attribute.objects.filter(key=config.attribute).exists():
        raise EvaluationError(f"Unknown attribute {config.attribute!r}.")
    with transaction.atomic():
        candidate = generation_for(config.model, config, owner)
        reference = None if config.reference == HUMAN else generation_for(config.reference, config, owner)
        run = EvaluationRun.objects.create(
            kind=RunKind.WINRATE, model_name=candidate.model_name, endpoint=candidate.endpoint,
            config={**config.to_dict(), "judge": judge.name}, generation=candidate, reference_generation=reference,
            reference_name=reference.model_name if reference else HUMAN, attribute=config.attribute,
            judge_name=judge.model, created_by=owner)
        queue = job_queue(judge, candidate.endpoint, reference.endpoint if reference else None)
        run.job = do_enqueue_job("evaluate_winrate", {"run": run.pk}, owner=owner, queue=queue)
        run.save(update_fields=["job"])
        for child in (candidate, reference):
            if child is not None and not child.is_finished and child.job_id is None:
                child.job = run.job
                child.save(update_fields=["job"])
    return run


def do_start_expert_check(config: ExpertCheckConfig, owner: User | None = None) -> EvaluationRun:
    """Create the expert check's campaign (a draft the lead starts) and its run; no job: physicians do the work."""
    try:
        return start_expert_check(config, owner)
    except ExpertCheckError as exc:
        raise EvaluationError(str(exc)) from exc


ENQUEUE: dict[str, tuple[type[JobConfig], Callable[..., EvaluationRun]]] = {
    "interactive": (InteractiveConfig, do_enqueue_interactive), "winrate": (WinrateConfig, do_enqueue_winrate),
    "generation": (GenerationConfig, do_enqueue_generation),
    "expert_check": (ExpertCheckConfig, do_start_expert_check)}
