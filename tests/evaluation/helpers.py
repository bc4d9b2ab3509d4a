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
