"""Job runners: interactive diagnostic QA, question generation and the pairwise win-rate."""

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from corpus.models import Question
from jobs.runner import JobContext, job_runner
from synthesis.backends import EndpointSettings, GenerationBackend, get_backend
from synthesis.backends import backend_class as load_backend_class
from synthesis.configs import SamplingConfig
from synthesis.models import Attribute, ModelEndpoint

from .actions import get_model_endpoint
from .configs import GenerationConfig, InteractiveConfig, WinrateConfig
from .interactive import Case, InteractiveEngine
from .interactive import Episode as EpisodeState
from .models import Episode, EvaluationRun
from .patients import EmbeddingPatient, LLMFactPatient
from .prompts import EXPERT_CONFIDENCE, EXPERT_LETTER, question_prompt_provenance
from .results import interactive_metrics
from .roles import RoleModel
from .winrate import (
    Comparison,
    generate_questions,
    judge_comparisons,
    provenance,
    select_questions,
    winrate_metrics,
)

LOCAL = {"transformers", "vllm"}


class BackendPool:
    """One backend per distinct model for the length of a job. The first local model comes from the process-wide
    cache (kept warm for the next job); further local models are loaded here and released at the end, because that
    cache holds one model at a time and the roles would evict each other every turn."""

    def __init__(self) -> None:
        self.backends: dict[tuple, GenerationBackend] = {}
        self.owned: list[GenerationBackend] = []

    def get(self, endpoint: ModelEndpoint) -> GenerationBackend:
        settings = EndpointSettings.from_endpoint(endpoint)
        local = settings.backend in LOCAL
        key = (settings.backend, settings.model, settings.device) if local else ("endpoint", endpoint.pk)
        if key not in self.backends:
            if not local or not any(k[0] in LOCAL for k in self.backends):
                self.backends[key] = get_backend(settings)
            else:
                self.backends[key] = load_backend_class(settings.backend)(settings)
                self.owned.append(self.backends[key])
        return self.backends[key]

    def role(self, name: str, endpoint: ModelEndpoint, sampling: dict) -> RoleModel:
        layers = {**endpoint.default_sampling, **sampling}
        layers.pop("seed", None)  # every call's seed derives from the run's seed
        return RoleModel(name, self.get(endpoint), SamplingConfig.from_dict(layers), endpoint.model)

    def close(self) -> None:
        for backend in self.owned:
            backend.close()


def finish_run(run: EvaluationRun, metrics: dict) -> dict:
    run.metrics = metrics
    run.finished_at = timezone.now()
    run.save(update_fields=["metrics", "finished_at", "provenance"])
    return metrics


# Interactive ----------------------------------------------------------------------------------------------------

def run_cases(run: EvaluationRun, config: InteractiveConfig) -> list[Case]:
    assert run.case_set is not None  # an interactive run evaluates a case set
    items = list(run.case_set.items.order_by("position"))
    if config.limit:
        items = items[: config.limit]
    return [Case(item.case_id, item.stem, item.options, item.answer_idx, item.initial_info, tuple(item.facts))
            for item in items]


def build_engine(run: EvaluationRun, config: InteractiveConfig, pool: BackendPool) -> InteractiveEngine:
    expert = pool.role("expert", get_model_endpoint(config.expert_model), config.expert_sampling)
    questioner = pool.role("question_generator", run.endpoint or get_model_endpoint(config.model),
                           config.question_sampling)
    patient: LLMFactPatient | EmbeddingPatient
    if config.patient == "llm":
        patient = LLMFactPatient(pool.role("patient", get_model_endpoint(config.patient_llm),
                                           config.patient_sampling), config.max_attempts)
    else:
        patient = EmbeddingPatient(config.embedding_top_k, config.embedding_threshold)
    assert run.case_set is not None  # an interactive run evaluates a case set
    run.provenance.update({
        "expert": {"model": expert.model_name, "sampling": expert.sampling.to_dict()},
        "question_generator": {"model": questioner.model_name, "sampling": questioner.sampling.to_dict()},
        "patient": patient.provenance(),
        "prompts": {"expert_confidence": EXPERT_CONFIDENCE.provenance(), "expert_letter": EXPERT_LETTER.provenance(),
                    "question": question_prompt_provenance(config.question_prompt, config.rendering)},
        "case_set": {"name": run.case_set.name, "sha256": run.case_set.sha256,
                     "initial_info": run.case_set.initial_info},
        "seeds": [config.seed + r for r in range(config.repeats)],
        "engine": "lockstep-batched-v1",
    })
    return InteractiveEngine(expert, questioner, patient, config.max_questions, config.threshold,
                             config.max_attempts, config.question_prompt, config.rendering)


def save_episodes(run: EvaluationRun, repeat: int, episodes: Iterable[EpisodeState], items_by_case: dict) -> None:
    rows = []
    for episode in episodes:
        data = episode.to_dict()
        rows.append(Episode(
            run=run, repeat=repeat, seed=data["seed"], item=items_by_case[data["case_id"]], case_id=data["case_id"],
            answer_idx=data["answer_idx"], letter=data["letter"] or "", correct=data["correct"],
            num_questions=data["num_questions"], timed_out=data["timed_out"], choices=data["choices"],
            confidences=data["confidences"], transcript=data["transcript"], tokens_in=data["tokens_in"],
            tokens_out=data["tokens_out"]))
    with transaction.atomic():
        Episode.objects.bulk_create(rows, batch_size=200)


@job_runner("evaluate_interactive", label="interactive evaluation")
def run_interactive(ctx: JobContext) -> dict:
    """Run every repeat not yet stored; a repeat interrupted midway is run again from its start, so its batches
    (and therefore its transcripts) are the same as in an uninterrupted run."""
    run = EvaluationRun.objects.select_related("case_set", "endpoint").get(pk=ctx.params["run"])
    config = InteractiveConfig.from_dict(run.config)
    cases = run_cases(run, config)
    assert run.case_set is not None  # run_cases read it
    items_by_case = {item.case_id: item for item in run.case_set.items.filter(case_id__in=[c.case_id for c in cases])}
    complete = {r for r in range(config.repeats) if run.episodes.filter(repeat=r).count() == len(cases)}
    run.episodes.exclude(repeat__in=complete).delete()
    ctx.set_total(len(cases) * config.repeats, unit="episodes")
    ctx.set_done(len(cases) * len(complete))
    pool = BackendPool()
    try:
        engine = build_engine(run, config, pool)
        ctx.log(f"{len(cases)} cases x {config.repeats} repeat(s); expert {engine.expert.model_name}, questions "
                f"{engine.questioner.model_name}, patient {engine.patient.label}")
        for repeat in range(config.repeats):
            if repeat in complete:
                continue
            done_before = ctx.job.progress_done

            def on_turn(turn: int, episodes: list[EpisodeState], done_before: int = done_before,
                        repeat: int = repeat) -> None:
                finished = sum(1 for e in episodes if e.finished)
                ctx.set_done(done_before + finished)
                ctx.log(f"repeat {repeat} turn {turn}: {finished}/{len(episodes)} episodes finished")

            episodes = engine.run(cases, config.seed + repeat, on_turn=on_turn)
            save_episodes(run, repeat, episodes, items_by_case)
    finally:
        pool.close()
    metrics = finish_run(run, interactive_metrics(run))
    return {key: metrics[key] for key in ("accuracy", "correct", "cases", "mean_questions", "timeout_rate",
                                          "repeats")} | {"run": run.pk}


# Generation and win-rate ----------------------------------------------------------------------------------------

def run_generation_phase(ctx: JobContext, run: EvaluationRun, pool: BackendPool, questions: list[Question]) -> None:
    config = GenerationConfig.from_dict(run.config)
    assert run.endpoint is not None  # a generation run names the model it generates with
    role = pool.role("generator", run.endpoint, config.sampling)
    run.provenance.update({"generator": {"model": role.model_name, "sampling": role.sampling.to_dict()},
                           "rendering": config.rendering, "seed": config.seed})
    ctx.log(f"generating questions with {role.model_name} ({len(questions)} contexts)")
    generate_questions(run, role, questions, config.rendering, config.seed, config.max_attempts, ctx.advance)
    texts = list(run.questions.values_list("text", flat=True))
    finish_run(run, {"questions": len(texts), "empty": sum(1 for t in texts if not t),
                     "tokens_out": sum(run.questions.values_list("tokens_out", flat=True))})


@job_runner("generate_questions", label="question generation")
def run_generate_questions(ctx: JobContext) -> dict:
    run = EvaluationRun.objects.select_related("endpoint").get(pk=ctx.params["run"])
    config = GenerationConfig.from_dict(run.config)
    questions = select_questions(config.split, config.qids, config.limit)
    ctx.set_total(len(questions), unit="questions")
    ctx.set_done(run.questions.count())
    pool = BackendPool()
    try:
        run_generation_phase(ctx, run, pool, questions)
    finally:
        pool.close()
    return {**run.metrics, "run": run.pk}


def texts_of(run: EvaluationRun | None, questions: Iterable[Question]) -> dict:
    if run is None:
        return {q.pk: q.text for q in questions}  # the real doctor's question
    return dict(run.questions.values_list("question_id", "text"))


@job_runner("evaluate_winrate", label="win-rate evaluation")
def run_winrate(ctx: JobContext) -> dict:
    run = EvaluationRun.objects.select_related("generation__endpoint", "reference_generation__endpoint").get(
        pk=ctx.params["run"])
    config = WinrateConfig.from_dict(run.config)
    questions = select_questions(config.split, config.qids, config.limit)
    children = [child for child in (run.generation, run.reference_generation)
                if child is not None and not child.is_finished]
    ctx.set_total(len(questions) * (len(children) + 1), unit="questions")
    pool = BackendPool()
    try:
        for child in children:
            run_generation_phase(ctx, child, pool, questions)
        judge = pool.role("judge", ModelEndpoint.objects.get(name=config.judge), config.judge_sampling)
        run.provenance.update(provenance(judge))
        run.provenance["samples"] = config.samples
        candidate, reference = texts_of(run.generation, questions), texts_of(run.reference_generation, questions)
        comparisons = [Comparison(q, candidate.get(q.pk, ""), reference.get(q.pk, "")) for q in questions]
        attribute = Attribute.objects.filter(key=config.attribute).first() if config.attribute else None
        ctx.log(f"judging {len(comparisons)} questions x 2 orders x {config.samples} with {judge.model_name}")
        judge_comparisons(run, judge, comparisons, config.samples, config.seed, config.max_attempts, attribute,
                          ctx.advance)
    finally:
        pool.close()
    metrics = finish_run(run, winrate_metrics(run, seed=config.seed))
    return {key: metrics[key] for key in ("win_rate", "items", "items_scored", "wins", "losses", "ties",
                                          "unparseable")} | {"run": run.pk}
