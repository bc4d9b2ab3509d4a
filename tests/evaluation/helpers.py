"""Small builders shared by the evaluation tests: a scripted backend and short cases."""

from evaluation.interactive import Case
from evaluation.roles import RoleModel
from synthesis.backends import GenerationResult
from synthesis.configs import SamplingConfig

SAMPLED = SamplingConfig(temperature=0.6, top_p=0.9, max_tokens=16)


class ScriptedBackend:
    """Answers each request with `reply(request)` and records every generate() call (one call = one batch)."""

    name = "scripted"

    def __init__(self, reply):
        self.reply = reply
        self.calls = []

    def generate(self, requests):
        self.calls.append(list(requests))
        return [GenerationResult(text=self.reply(request), tokens_in=10, tokens_out=5) for request in requests]


def role(name, backend, sampling=SAMPLED):
    return RoleModel(name, backend, sampling, f"{name}-model")


def make_case(number, answer="B"):
    facts = ("The patient has had a fever of 39 degrees for three days.", "The patient is 34 years old.",
             "The patient has a dry cough.", f"The patient lives in town {number}.")
    return Case(f"case-{number}", "What is the most likely diagnosis?",
                {"A": "Migraine", "B": "Influenza", "C": "Appendicitis", "D": "Gout"}, answer,
                f"Fever and cough ({number})\n\nI have felt hot and tired for a few days.", facts)


def user_text(request):
    return request.messages[-1]["content"]


def mediq_records(count=3):
    """Invented MediQ-AskDocs-format records (the project's own, not the shared data)."""
    return [{
        "id": f"t_case{n}", "question": "What is the most likely cause of the fever?",
        "options": {"A": "Influenza", "B": "Appendicitis", "C": "Migraine", "D": "Gout"},
        "answer": "Influenza", "answer_idx": "A",
        "atomic_facts": ["- The patient has had a fever for three days.", "- The patient has a dry cough.",
                         f"- The patient is {30 + n} years old."],
        "context": f"Fever for days ({n})\n\nI feel hot and I cough.", "initial_info": "persistent dizziness",
        "original_post": f"Fever for days ({n})\n\nI feel hot and I cough.",
    } for n in range(count)]


def write_jsonl(path, records):
    import json

    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def make_finished_runs(owner=None, first_question=100):
    """Store a finished interactive run (3 cases, 2 correct) and a win-rate run vs the human questions, as the
    jobs would, without running a model; return (interactive, winrate)."""
    from django.utils import timezone

    from corpus.models import Split
    from evaluation.casesets import item_from_record, store_snapshot
    from evaluation.models import Episode, EvaluationRun, PairwiseVerdict, RunKind
    from evaluation.results import interactive_metrics
    from evaluation.winrate import winrate_metrics
    from tests.synthesis.conftest import make_question

    items = [item_from_record(record, None)[0] for record in mediq_records(3)]
    case_set = store_snapshot("demo-cases", "file", "original_post", items)
    run = EvaluationRun.objects.create(kind=RunKind.INTERACTIVE, model_name="model-a", case_set=case_set,
                                       config={"max_questions": 2, "seed": 0}, created_by=owner)
    for item, letter in zip(case_set.items.order_by("position"), ["A", "A", "C"], strict=True):
        Episode.objects.create(
            run=run, repeat=0, seed=0, item=item, case_id=item.case_id, answer_idx=item.answer_idx, letter=letter,
            correct=letter == item.answer_idx, num_questions=1, choices=["B", letter], confidences=[2, 5],
            transcript=[
                {"role": "expert", "kind": "confidence", "confidence": 2, "label": "Somewhat Unconfident",
                 "raw": ["DECISION: Somewhat Unconfident"], "attempts": 1, "model": "expert-m"},
                {"role": "question_generator", "kind": "question", "question": "Do you have a fever?",
                 "parsed": True, "raw": ["Do you have a fever?"], "attempts": 1, "model": "model-a"},
                {"role": "patient", "kind": "answer", "text": item.facts[0], "facts": [0],
                 "fact_texts": [item.facts[0]], "cannot_answer": False, "parsed": True, "raw": ["1."],
                 "attempts": 1, "model": "patient-m"},
                {"role": "expert", "kind": "answer", "letter": letter, "forced": False}])
    run.metrics = interactive_metrics(run)
    run.finished_at = timezone.now()
    run.save()
    winrate = EvaluationRun.objects.create(kind=RunKind.WINRATE, model_name="model-a", reference_name="human",
                                           judge_name="judge-m", finished_at=timezone.now(), created_by=owner)
    for number, winners in enumerate([("candidate", "candidate"), ("candidate", "reference")], start=1):
        question = make_question(first_question + number, split=Split.TEST)
        for order, winner in enumerate(winners):
            PairwiseVerdict.objects.create(run=winrate, question=question, qid=question.qid, order=order, sample=0,
                                           candidate_text="Any aura before the pain?", reference_text=question.text,
                                           winner=winner, seed=0, prompt_hash="h")
    winrate.metrics = winrate_metrics(winrate)
    winrate.save()
    return run, winrate
