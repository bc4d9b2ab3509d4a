"""The expert check (method.md §5.3, with its gaps fixed): from two generation runs, a stratified, seeded sample of
test questions becomes a blinded pairwise campaign in the annotation app; the physicians' win-rate and their
agreement with the LLM judge are computed from the live judgments."""

import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

import numpy as np
from django.contrib.auth.models import User
from django.db import transaction
from numpy.typing import ArrayLike

from annotation.actions import do_create_campaign
from annotation.agreement import cohen_kappa
from annotation.attributes import OVERALL
from annotation.models import Campaign, Choice, ComparisonItem, JudgmentMode
from corpus.models import Question

from .configs import ExpertCheckConfig
from .models import EvaluationRun, RunKind, Winner
from .statistics import Estimate, bootstrap_mean, percentile_interval
from .winrate import HUMAN

LABELS = [Choice.A, Choice.B, Choice.TIE]  # A is always the candidate; the page randomises the side per annotator
# both unacceptable: neither better, a tie
EXPERT_SCORE: dict[str, float] = {Choice.A: 1.0, Choice.B: 0.0, Choice.TIE: 0.5, Choice.BOTH_BAD: 0.5}


ITEM_CHOICE: dict[str, str] = {Winner.CANDIDATE: Choice.A, Winner.REFERENCE: Choice.B, Winner.TIE: Choice.TIE}


class ExpertCheckError(ValueError):
    """An expert check that cannot be started as asked."""


def stratified_sample(questions: list, size: int, seed: int) -> list:
    """Return `size` questions drawn without replacement, each question type in proportion to its share
    (largest remainders), with a seeded generator; in qid order."""
    strata = defaultdict(list)
    for question in sorted(questions, key=lambda q: q.qid):
        strata[question.question_type or "unlabelled"].append(question)
    size = min(size, len(questions))
    quotas = {name: size * len(members) / len(questions) for name, members in strata.items()}
    counts = {name: int(quota) for name, quota in quotas.items()}
    for name in sorted(quotas, key=lambda n: (counts[n] - quotas[n], n))[: size - sum(counts.values())]:
        counts[name] += 1
    rng = random.Random(seed)
    chosen = [q for name in sorted(strata) for q in rng.sample(strata[name], counts[name])]
    return sorted(chosen, key=lambda q: q.qid)


def judge_choices(judge_run: EvaluationRun | None) -> dict[str, str]:
    """Return {qid: the judge's majority choice in item terms}: A candidate, B reference, tie; unparseable left out."""
    if judge_run is None:
        return {}
    votes: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for qid, winner in judge_run.verdicts.exclude(winner=Winner.UNPARSEABLE).values_list("qid", "winner"):
        votes[qid][ITEM_CHOICE[winner]] += 1
    choices = {}
    for qid, counter in votes.items():
        (first, top), *rest = counter.most_common()
        choices[qid] = Choice.TIE if rest and rest[0][1] == top else first
    return choices


def texts(run: EvaluationRun | None, questions: Iterable[Question]) -> dict[int, str]:
    if run is None:
        return {q.pk: q.text for q in questions}
    return dict(run.questions.exclude(text="").values_list("question_id", "text"))


def check_runs(candidate: EvaluationRun, reference: EvaluationRun | None, judge_run: EvaluationRun | None) -> None:
    for run, what in ((candidate, "candidate"), (reference, "reference")):
        if run is not None and (run.kind != RunKind.GENERATION or not run.is_finished):
            raise ExpertCheckError(f"The {what} must be a finished generation run.")
    if judge_run is not None:
        same = judge_run.generation_id == candidate.pk and judge_run.reference_generation_id == getattr(
            reference, "pk", None)
        if judge_run.kind != RunKind.WINRATE or not judge_run.is_finished or not same:
            raise ExpertCheckError("The judge run must be a finished win-rate run of these two generations.")


def do_start_expert_check(config: ExpertCheckConfig, owner: User | None = None) -> EvaluationRun:
    """Create a draft campaign of the sampled pairs (the lead starts it from the campaign page) and its run row."""
    runs = {run.pk: run for run in EvaluationRun.objects.filter(pk__in=[config.candidate, config.reference_run,
                                                                        config.judge_run])}
    candidate = runs.get(config.candidate)
    if candidate is None:
        raise ExpertCheckError(f"No generation run {config.candidate}.")
    reference = runs.get(config.reference_run) if config.reference_run else None
    if config.reference_run and reference is None:
        raise ExpertCheckError(f"No generation run {config.reference_run}.")
    judge_run = runs.get(config.judge_run) if config.judge_run else None
    if config.judge_run and judge_run is None:
        raise ExpertCheckError(f"No win-rate run {config.judge_run}.")
    check_runs(candidate, reference, judge_run)
    questions = [row.question for row in candidate.questions.select_related("question__thread__post")]
    first, second = texts(candidate, questions), texts(reference, questions)
    usable = [q for q in questions if first.get(q.pk) and second.get(q.pk)]
    if not usable:
        raise ExpertCheckError("The two runs share no question with a generated text on both sides.")
    sample = stratified_sample(usable, config.size, config.seed)
    judged = judge_choices(judge_run)
    reference_name = reference.model_name if reference else HUMAN
    with transaction.atomic():
        campaign = do_create_campaign(
            config.name or f"Expert check: {candidate.model_name[-60:]} vs {reference_name[-60:]} "
                           f"(generation {candidate.pk}, seed {config.seed})",
            owner, annotators=annotators_named(config.annotators), judgment_mode=JudgmentMode.OVERALL,
            overlap=config.overlap, gold_rate=0, description="Which follow-up question would you rather ask next? "
            "The two questions come from two systems, shown in a random order.",
            selection={"evaluation": {"candidate": candidate.pk, "reference": getattr(reference, "pk", None),
                                      "size": len(sample), "seed": config.seed}})
        ComparisonItem.objects.bulk_create([item_for(campaign, q, position, first[q.pk], second[q.pk], candidate,
                                                     reference_name, judged.get(q.qid, ""))
                                            for position, q in enumerate(sample)])
        campaign.item_count = len(sample)
        campaign.save(update_fields=["item_count"])
        strata = Counter(q.question_type or "unlabelled" for q in sample)
        return EvaluationRun.objects.create(
            kind=RunKind.EXPERT_CHECK, model_name=candidate.model_name, endpoint=candidate.endpoint,
            config=config.to_dict(), generation=candidate, reference_generation=reference,
            reference_name=reference_name, judge_name=judge_run.judge_name if judge_run else "", created_by=owner,
            provenance={"campaign": campaign.pk, "qids": [q.qid for q in sample], "strata": dict(strata),
                        "judge_run": getattr(judge_run, "pk", None)})


def item_for(campaign: Campaign, question: Question, position: int, candidate_text: str, reference_text: str,
             candidate: EvaluationRun, reference_name: str, judge: str) -> ComparisonItem:
    post = question.thread.post
    return ComparisonItem(
        campaign=campaign, external_id=f"eval:{question.qid}", position=position, post_title=post.title,
        post_body=post.body, turns=list(question.previous_turns or []), question_a=candidate_text,
        question_b=reference_text, attribute=OVERALL, source_a=f"candidate:{candidate.model_name}"[:200],
        source_b=f"reference:{reference_name}"[:200], split=post.split, question=question, judge_choice=judge,
        meta={"qid": question.qid, "generation": candidate.pk})


def annotators_named(usernames: Sequence[str]) -> list[User]:
    from django.contrib.auth import get_user_model

    users = list(get_user_model().objects.filter(username__in=usernames))
    if missing := set(usernames) - {user.username for user in users}:
        raise ExpertCheckError(f"Unknown user(s): {', '.join(sorted(missing))}.")
    return users


def expert_labels(choices: Iterable[str]) -> str:
    """Return the experts' majority label for one item (both unacceptable counts as a tie; a split is a tie)."""
    counter = Counter(Choice.TIE if choice == Choice.BOTH_BAD else choice for choice in choices)
    (first, top), *rest = counter.most_common()
    return Choice.TIE if rest and rest[0][1] == top else first


def kappa_interval(judge: ArrayLike, expert: ArrayLike, n_boot: int = 1000, seed: int = 0) -> Estimate:
    """Return Cohen's kappa between the judge's and the experts' labels with a bootstrap interval over items."""
    judge, expert = np.asarray(judge), np.asarray(expert)
    value = cohen_kappa(list(judge), list(expert), categories=LABELS)
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(n_boot if len(judge) else 0):
        index = rng.integers(0, len(judge), size=len(judge))
        kappa = cohen_kappa(list(judge[index]), list(expert[index]), categories=LABELS)
        samples.append(np.nan if kappa is None else kappa)
    return Estimate(value, *percentile_interval(samples), len(judge))


def expert_check_metrics(run: EvaluationRun) -> dict:
    """Return the experts' win-rate (ties as half, bootstrap interval), the judge's on the same items, and their
    agreement (Cohen's kappa with a bootstrap interval), from the campaign's live overall judgments."""
    campaign = Campaign.objects.get(pk=run.provenance["campaign"])
    by_item = defaultdict(list)
    for item_id, choice in campaign.judgments.counted().filter(attribute=OVERALL, retracted_at__isnull=True,
                                                               item__is_gold=False).values_list("item_id", "choice"):
        by_item[item_id].append(choice)
    judge = dict(campaign.items.exclude(judge_choice="").values_list("pk", "judge_choice"))
    expert = bootstrap_mean([np.mean([EXPERT_SCORE[c] for c in choices]) for choices in by_item.values()])
    judge_rate = bootstrap_mean([EXPERT_SCORE[judge[i]] for i in by_item if i in judge])
    both = [i for i in by_item if i in judge]
    kappa = kappa_interval([judge[i] for i in both], [expert_labels(by_item[i]) for i in both])
    return {"campaign": campaign.pk, "campaign_status": campaign.status, "items": campaign.item_count,
            "items_judged": len(by_item), "judgments": sum(len(c) for c in by_item.values()),
            "expert_win_rate": expert.value, "expert_win_rate_ci": expert.as_dict(),
            "judge_win_rate": judge_rate.value, "judge_win_rate_ci": judge_rate.as_dict(),
            "judge_expert_kappa": kappa.as_dict()}


def expert_items(run: EvaluationRun) -> list[dict]:
    """Return one row per sampled question: both texts, the judge's choice and the physicians' live choices
    (A is the candidate), for exports."""
    campaign_id = run.provenance["campaign"]
    choices = defaultdict(list)
    for item_id, choice in ComparisonItem.objects.filter(campaign_id=campaign_id).filter(
            judgments__attribute=OVERALL, judgments__retracted_at__isnull=True).values_list("pk", "judgments__choice"):
        choices[item_id].append(choice)
    return [{"qid": item.meta.get("qid", ""), "candidate": item.question_a, "reference": item.question_b,
             "judge_choice": item.judge_choice, "expert_choices": " ".join(sorted(choices[item.pk]))}
            for item in ComparisonItem.objects.filter(campaign_id=campaign_id).order_by("position")]
