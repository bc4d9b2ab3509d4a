"""The interactive diagnostic QA engine (MediQ-style): every active case advances one turn at a time, and each turn's
prompts for all active cases go to a role's backend as one batch.

An episode: the expert sees the initial information and the conversation so far, rates its confidence on the
5-point scale and picks a letter; confident enough, it answers; otherwise the model under test asks a question and
the patient answers from the case's atomic facts only. After `max_questions` questions the expert must answer.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from .parsing import CANNOT_ANSWER, SCALE, parse_confidence, parse_letter, parse_question
from .patients import EmbeddingPatient, LLMFactPatient, PatientReply
from .prompts import EXPERT_CONFIDENCE, EXPERT_LETTER, expert_messages, question_messages
from .roles import Reply, RoleModel, ask
from .statistics import accuracy_by_questions, accuracy_curve, bootstrap_mean, mean_interval

NO_QUESTION = "(the question generator asked no question)"


@dataclass(frozen=True)
class Case:
    """One multiple-choice case, detached from the database."""

    case_id: str
    stem: str
    options: dict
    answer_idx: str
    initial_info: str
    facts: tuple

    @property
    def title(self) -> str:
        return self.initial_info.partition("\n\n")[0].strip()

    @property
    def body(self) -> str:
        return self.initial_info.partition("\n\n")[2].strip()


@dataclass
class Episode:
    """The state and transcript of one case's episode."""

    case: Case
    seed: int
    transcript: list = field(default_factory=list)
    history: list = field(default_factory=list)  # (question, patient answer)
    choices: list = field(default_factory=list)  # the expert's letter after 0, 1, ... answers
    confidences: list = field(default_factory=list)
    letter: str | None = None
    finished: bool = False
    timed_out: bool = False
    tokens: dict = field(default_factory=lambda: {"tokens_in": 0, "tokens_out": 0})

    @property
    def num_questions(self) -> int:
        return len(self.history)

    @property
    def correct(self) -> bool:
        return self.letter is not None and self.letter == self.case.answer_idx

    def count(self, reply: Reply) -> None:
        self.tokens["tokens_in"] += reply.tokens_in
        self.tokens["tokens_out"] += reply.tokens_out

    def to_dict(self) -> dict:
        return {"case_id": self.case.case_id, "seed": self.seed, "answer_idx": self.case.answer_idx,
                "letter": self.letter, "correct": self.correct, "num_questions": self.num_questions,
                "timed_out": self.timed_out, "choices": self.choices, "confidences": self.confidences,
                "transcript": self.transcript, **self.tokens}


@dataclass
class InteractiveEngine:
    """Runs episodes for a list of cases with fixed roles, prompts and limits."""

    expert: RoleModel
    questioner: RoleModel
    patient: LLMFactPatient | EmbeddingPatient
    max_questions: int = 15
    threshold: float = 4.0
    max_attempts: int = 2
    question_prompt: str = "rendering"
    rendering: str = "thread-v1"

    def run(self, cases: list[Case], seed: int, on_turn: Callable | None = None,
            one_at_a_time: bool = False) -> list[Episode]:
        """Return one finished episode per case. `one_at_a_time` runs each case alone, with the same seeds (the
        benchmark's baseline); by default all active cases advance together."""
        self.patient.prepare(cases)
        episodes = [Episode(case, seed) for case in cases]
        groups = [[episode] for episode in episodes] if one_at_a_time else [episodes]
        for group in groups:
            turn = 0
            while active := [episode for episode in group if not episode.finished]:
                self.step(active, turn)
                turn += 1
                if on_turn is not None:
                    on_turn(turn, episodes)
        return episodes

    def step(self, active: list[Episode], turn: int) -> None:
        """Advance every active episode by one turn: expert, then question generator, then patient."""
        seed = active[0].seed
        forced = {id(e) for e in active if e.num_questions >= self.max_questions}
        askers = self.expert_turn(active, forced, (seed, turn))
        if not askers:
            return
        questions = self.question_turn(askers, (seed, turn))
        self.patient_turn(askers, questions, (seed, turn))

    def expert_turn(self, active: list[Episode], forced: set, seed_parts: tuple) -> list[Episode]:
        """Ask every active expert for a letter, and those still allowed to ask for their confidence too; finish
        the confident and the forced episodes; return the ones that will ask a question."""
        deciding = [e for e in active if id(e) not in forced]
        prompts = [expert_messages(EXPERT_LETTER, e.case, e.history) for e in active]
        prompts += [expert_messages(EXPERT_CONFIDENCE, e.case, e.history) for e in deciding]

        def parse(i: int, text: str) -> str | int | None:
            if i < len(active):
                return parse_letter(text, active[i].case.options)
            return parse_confidence(text)

        keys = [("letter", e.case.case_id) for e in active] + [("confidence", e.case.case_id) for e in deciding]
        replies = ask(self.expert, prompts, parse, seed_parts, self.max_attempts, keys=keys)
        letters, confidences = replies[:len(active)], dict(zip(map(id, deciding), replies[len(active):], strict=True))
        askers = []
        for episode, letter in zip(active, letters, strict=True):
            episode.count(letter)
            episode.choices.append(letter.value)
            confidence = confidences.get(id(episode))
            if confidence is not None:
                episode.count(confidence)
                episode.confidences.append(confidence.value)
                episode.transcript.append(self.event("expert", "confidence", confidence, confidence=confidence.value,
                                                     label=SCALE.get(confidence.value, "")))
            episode.transcript.append(self.event("expert", "choice", letter, letter=letter.value))
            if confidence is None or (confidence.value is not None and confidence.value >= self.threshold):
                episode.letter = letter.value
                episode.finished = True
                episode.timed_out = confidence is None
                episode.transcript.append({"role": "expert", "kind": "answer", "letter": letter.value,
                                           "forced": confidence is None})
            else:
                askers.append(episode)
        return askers

    def question_turn(self, askers: list[Episode], seed_parts: tuple) -> list[str]:
        prompts = [question_messages(e.case, e.history, self.question_prompt, self.rendering) for e in askers]
        replies = ask(self.questioner, prompts, lambda i, text: parse_question(text), seed_parts, self.max_attempts,
                      keys=[e.case.case_id for e in askers])
        questions = []
        for episode, reply in zip(askers, replies, strict=True):
            episode.count(reply)
            # No line asked anything, even after retries: keep the reply's first line, so the patient answers what
            # was said rather than None (the authors' bug); an empty reply asks nothing.
            question = reply.value or first_line(reply.texts[-1] if reply.texts else "")
            episode.transcript.append(self.event("question_generator", "question", reply, question=question,
                                                 parsed=reply.value is not None))
            questions.append(question)
        return questions

    def patient_turn(self, askers: list[Episode], questions: list[str], seed_parts: tuple) -> None:
        asked = [i for i, question in enumerate(questions) if question]
        answers = dict(zip(asked, self.patient.answer([askers[i].case for i in asked], [questions[i] for i in asked],
                                                      seed_parts), strict=True))
        for i, episode in enumerate(askers):
            reply = answers.get(i) or PatientReply(CANNOT_ANSWER, (), True, [], 0, parsed=False)
            episode.tokens["tokens_in"] += reply.tokens_in
            episode.tokens["tokens_out"] += reply.tokens_out
            episode.transcript.append({
                "role": "patient", "kind": "answer", "text": reply.text, "facts": list(reply.facts),
                "fact_texts": [episode.case.facts[k] for k in reply.facts], "cannot_answer": reply.cannot_answer,
                "parsed": reply.parsed, "raw": reply.raw, "attempts": reply.attempts, "model": self.patient.label,
            })
            episode.history.append((questions[i] or NO_QUESTION, reply.text))

    def event(self, role: str, kind: str, reply: Reply, **values: object) -> dict:
        model = {"expert": self.expert, "question_generator": self.questioner}[role].model_name
        return {"role": role, "kind": kind, **values, "raw": reply.texts, "attempts": reply.attempts, "model": model}


def first_line(text: str) -> str:
    line = next((line.strip() for line in (text or "").splitlines() if line.strip()), "")
    return line[:300]


def repeat_metrics(episodes: list[dict], max_questions: int) -> dict:
    """Return one repeat's metrics from episode dicts (Episode.to_dict or stored rows)."""
    cases = len(episodes)
    correct = sum(1 for e in episodes if e["correct"])
    return {
        "cases": cases, "correct": correct, "accuracy": correct / cases if cases else None,
        "timeout_rate": sum(1 for e in episodes if e["timed_out"]) / cases if cases else None,
        "mean_questions": sum(e["num_questions"] for e in episodes) / cases if cases else None,
        "unanswered": sum(1 for e in episodes if e["letter"] is None),
        "by_questions": accuracy_by_questions(episodes),
        "curve": accuracy_curve(episodes, max_questions),
    }


def run_metrics(episodes: list[dict], max_questions: int, seed: int = 0) -> dict:
    """Return a run's metrics: the first repeat's counts at the top, the mean over repeats with a t interval, and
    a bootstrap interval over cases (each case scored by its share of correct repeats)."""
    by_repeat: dict[int, list[dict]] = {}
    for episode in episodes:
        by_repeat.setdefault(episode["repeat"], []).append(episode)
    repeats = [repeat_metrics(by_repeat[r], max_questions) for r in sorted(by_repeat)]
    per_case = case_scores(episodes)
    first = repeats[0] if repeats else repeat_metrics([], max_questions)
    return {
        **first,
        "repeats": len(repeats),
        "per_repeat": [{k: m[k] for k in ("cases", "correct", "accuracy", "timeout_rate", "mean_questions")}
                       for m in repeats],
        "accuracy_mean": mean_interval([m["accuracy"] for m in repeats]).as_dict(),
        "accuracy_ci": bootstrap_mean(list(per_case.values()), seed=seed).as_dict(),
        "timeout_rate_mean": mean_interval([m["timeout_rate"] for m in repeats]).as_dict(),
        "mean_questions_mean": mean_interval([m["mean_questions"] for m in repeats]).as_dict(),
    }


def case_scores(episodes: list[dict]) -> dict[str, float]:
    """Return {case_id: share of repeats answered correctly}."""
    totals: dict[str, list[int]] = {}
    for episode in episodes:
        total = totals.setdefault(episode["case_id"], [0, 0])
        total[0] += 1
        total[1] += int(bool(episode["correct"]))
    return {case_id: correct / n for case_id, (n, correct) in totals.items()}
