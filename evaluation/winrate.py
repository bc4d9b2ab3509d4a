"""Question generation for the test questions and the pairwise LLM-judge win-rate (method.md §5.1-5.2, with the
fixes of §7.2 items 33-35: zeros kept, unconfusable labels and a strict structured parser, failures recorded)."""

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from corpus.models import Question

from .models import EvaluationRun, GeneratedQuestion, PairwiseVerdict, Winner
from .parsing import JudgeReplyError, JudgeVerdict, parse_judge_reply, parse_question
from .prompts import JUDGE_PAIRWISE, judge_messages
from .roles import RoleModel, ask, request_seed
from .statistics import bradley_terry_intervals, item_score, win_rate

if TYPE_CHECKING:
    from synthesis.models import Attribute

HUMAN = "human"
CHUNK = 64  # questions per backend call: large enough to batch, small enough for progress and resume


def select_questions(split: str, qids: list[str], limit: int) -> list[Question]:
    """Return the questions a generation or win-rate run covers, in qid order."""
    questions = Question.objects.select_related("thread__post").order_by("qid")
    questions = questions.filter(qid__in=qids) if qids else questions.filter(thread__post__split=split)
    if limit:
        questions = questions[:limit]
    return list(questions)


def conversation_text(question: Question) -> str:
    """Return the context a judge reads: the patient's post, then the earlier doctor/patient turns."""
    lines = []
    for message in question.conversation():
        speaker = "Patient" if message["role"] == "user" else "Doctor"
        lines.append(f"{speaker}: {message['content']}")
    return "\n\n".join(lines)


# Generation -----------------------------------------------------------------------------------------------------

def generate_questions(run: EvaluationRun, role: RoleModel, questions: list[Question], rendering: str, seed: int,
                       max_attempts: int, progress: Callable[[int], object] | None = None) -> int:
    """Generate the next question for every question the run lacks; return how many were generated.

    Each chunk is one backend call (plus retries for replies that ask nothing); a resumed job skips stored rows.
    """
    from synthesis.backends import GenerationRequest

    done = set(GeneratedQuestion.objects.filter(run=run).values_list("question_id", flat=True))
    pending = [q for q in questions if q.pk not in done]
    made = 0
    for start in range(0, len(pending), CHUNK):
        chunk = pending[start:start + CHUNK]
        prompts = [q.prompt_messages(rendering) for q in chunk]
        seed_parts = (seed, "generate")  # each question's seed adds its qid: the chunking does not matter
        replies = ask(role, prompts, lambda i, text: parse_question(text), seed_parts, max_attempts,
                      keys=[q.qid for q in chunk])
        sampling = role.sampling.to_dict()
        rows = []
        for question, messages, reply in zip(chunk, prompts, replies, strict=True):
            rows.append(GeneratedQuestion(
                run=run, question=question, qid=question.qid, text=reply.value or "", raw=reply.texts,
                model_name=role.model_name, backend=getattr(role.backend, "name", ""), sampling=sampling,
                seed=request_seed(seed_parts, role.role, 0, question.qid), rendering=rendering,
                prompt_hash=GenerationRequest(messages, role.sampling).prompt_hash, attempts=reply.attempts,
                tokens_in=reply.tokens_in, tokens_out=reply.tokens_out))
        GeneratedQuestion.objects.bulk_create(rows, ignore_conflicts=True)
        made += len(rows)
        if progress is not None:
            progress(len(rows))
    return made


# Judging --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Comparison:
    question: Question
    candidate: str
    reference: str


ORDER_WINNERS = {0: {"1": Winner.CANDIDATE, "2": Winner.REFERENCE}, 1: {"1": Winner.REFERENCE, "2": Winner.CANDIDATE}}


def verdict_of(order: int, label: str) -> str:
    """Return who won from the label the judge chose in that order (0: the candidate was shown as Question 1)."""
    return Winner.TIE if label == "tie" else ORDER_WINNERS[order][label]


def same_text(first: str, second: str) -> bool:
    return " ".join(first.lower().split()) == " ".join(second.lower().split())


def judge_comparisons(run: EvaluationRun, judge: RoleModel, comparisons: list[Comparison], samples: int, seed: int,
                      max_attempts: int, attribute: "Attribute | None" = None,
                      progress: Callable[[int], object] | None = None) -> int:
    """Judge every comparison in both orders, `samples` times each, skipping verdicts already stored.

    Requests sharing (order, sample) go to the backend together, each seeded by (seed, order, sample, qid). A
    reply that is not the structured verdict is retried; after max_attempts it is stored as unparseable, which
    scores nothing.
    """
    stored = set(PairwiseVerdict.objects.filter(run=run).values_list("qid", "order", "sample"))
    made = 0
    for start in range(0, len(comparisons), CHUNK):
        chunk = comparisons[start:start + CHUNK]
        rows = []
        for order in (0, 1):
            for sample in range(samples):
                todo = [c for c in chunk if (c.question.qid, order, sample) not in stored]
                rows += identical_ties(run, [c for c in todo if same_text(c.candidate, c.reference)], order, sample)
                todo = [c for c in todo if not same_text(c.candidate, c.reference)]
                if todo:
                    rows += judge_batch(run, judge, todo, order, sample, seed, max_attempts, attribute)
        PairwiseVerdict.objects.bulk_create(rows, ignore_conflicts=True)
        made += len(rows)
        if progress is not None:
            progress(len(chunk))
    return made


def identical_ties(run: EvaluationRun, comparisons: list[Comparison], order: int, sample: int
                   ) -> list[PairwiseVerdict]:
    """Two identical questions tie by definition; no judge call is made for them."""
    return [PairwiseVerdict(run=run, question=c.question, qid=c.question.qid, order=order, sample=sample,
                            candidate_text=c.candidate, reference_text=c.reference, winner=Winner.TIE,
                            explanation="The two questions are identical: a tie without a judge call.", replies=[],
                            attempts=0, seed=0, prompt_hash="") for c in comparisons]


def judge_batch(run: EvaluationRun, judge: RoleModel, comparisons: list[Comparison], order: int, sample: int, seed: int,
                max_attempts: int, attribute: "Attribute | None") -> list[PairwiseVerdict]:
    from synthesis.backends import GenerationRequest

    prompts = []
    for c in comparisons:
        first, second = (c.candidate, c.reference) if order == 0 else (c.reference, c.candidate)
        prompts.append(judge_messages(conversation_text(c.question), first, second, attribute))
    def parse(i: int, text: str) -> JudgeVerdict | None:
        try:
            return parse_judge_reply(text)
        except JudgeReplyError:
            return None

    seed_parts = (seed, "judge", order, sample)
    replies = ask(judge, prompts, parse, seed_parts, max_attempts, keys=[c.question.qid for c in comparisons])
    rows = []
    for c, messages, reply in zip(comparisons, prompts, replies, strict=True):
        parsed = reply.value
        rows.append(PairwiseVerdict(
            run=run, question=c.question, qid=c.question.qid, order=order, sample=sample,
            candidate_text=c.candidate, reference_text=c.reference,
            winner=verdict_of(order, parsed.winner) if parsed else Winner.UNPARSEABLE,
            explanation=parsed.explanation if parsed else "",
            replies=[{"text": text, "error": reply_error(text)} for text in reply.texts],
            attempts=reply.attempts, seed=request_seed(seed_parts, judge.role, 0, c.question.qid),
            prompt_hash=GenerationRequest(messages, judge.sampling).prompt_hash))
    return rows


def reply_error(text: str) -> str:
    """Return why a judge reply was rejected, or "" for a valid one (stored beside every attempt)."""
    try:
        parse_judge_reply(text)
    except JudgeReplyError as exc:
        return str(exc)
    return ""


# Metrics --------------------------------------------------------------------------------------------------------

OUTCOME: dict[str, str | None] = {Winner.CANDIDATE: "win", Winner.REFERENCE: "loss", Winner.TIE: "tie",
                                  Winner.UNPARSEABLE: None}


def item_scores(verdicts: Iterable[tuple[str, str]]) -> dict[str, float | None]:
    """Return {qid: the candidate's score}, from (qid, winner) pairs."""
    outcomes: defaultdict[str, list[str | None]] = defaultdict(list)
    for qid, winner in verdicts:
        outcomes[qid].append(OUTCOME[winner])
    return {qid: item_score(values) for qid, values in outcomes.items()}


def winrate_metrics(run: EvaluationRun, seed: int = 0) -> dict:
    """Return the run's win-rate (ties as half, bootstrap 95% interval over questions) and its verdict counts."""
    rows = list(run.verdicts.values_list("qid", "order", "sample", "winner"))
    scores = item_scores([(qid, winner) for qid, _order, _sample, winner in rows])
    estimate = win_rate(scores.values(), seed=seed)
    counts: defaultdict[str, int] = defaultdict(int)
    for _qid, _order, _sample, winner in rows:
        counts[winner] += 1
    by_order: dict[str, float | None] = {}
    for order in (0, 1):
        valid = [w for _q, o, _s, w in rows if o == order and w != Winner.UNPARSEABLE]
        by_order[str(order)] = (sum(1.0 if w == Winner.CANDIDATE else 0.5 if w == Winner.TIE else 0.0
                                    for w in valid) / len(valid)) if valid else None
    paired: defaultdict[tuple[str, int], dict[int, str]] = defaultdict(dict)
    for qid, order, sample, winner in rows:
        paired[(qid, sample)][order] = winner
    both = [v for v in paired.values() if len(v) == 2 and Winner.UNPARSEABLE not in v.values()]
    return {
        "win_rate": estimate.value, "win_rate_ci": estimate.as_dict(),
        "items": len(scores), "items_scored": estimate.n, "items_unscored": len(scores) - estimate.n,
        "verdicts": len(rows), "wins": counts[Winner.CANDIDATE], "losses": counts[Winner.REFERENCE],
        "ties": counts[Winner.TIE], "unparseable": counts[Winner.UNPARSEABLE],
        "score_by_order": by_order,
        "order_agreement": (sum(1 for v in both if v[0] == v[1]) / len(both)) if both else None,
    }


def bradley_terry_table(runs: Iterable[EvaluationRun], n_boot: int = 500, seed: int = 0) -> dict:
    """Return Bradley-Terry log-strengths with bootstrap intervals over questions for the models compared in
    finished win-rate runs (candidate vs reference per question, the item score as the candidate's share)."""
    by_item: defaultdict[str, list[tuple[str, str, float]]] = defaultdict(list)
    models: set[str] = set()
    for run in runs:
        for qid, score in item_scores(run.verdicts.values_list("qid", "winner")).items():
            if score is not None:
                by_item[qid].append((run.model_name, run.reference_name, score))
                models.update((run.model_name, run.reference_name))
    ordered = sorted(models)
    if len(ordered) < 2:
        return {}
    ratings = bradley_terry_intervals(dict(by_item), ordered, n_boot=n_boot, seed=seed)
    return {model: estimate.as_dict() for model, estimate in ratings.items()}


def provenance(judge: RoleModel) -> dict:
    return {"judge": {"model": judge.model_name, "sampling": judge.sampling.to_dict()},
            "judge_prompt": JUDGE_PAIRWISE.provenance()}
