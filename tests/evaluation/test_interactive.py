"""The interactive engine: lockstep batches per role, confidence and forced answers, retries, the patients, seeds."""

import pytest

from evaluation.interactive import NO_QUESTION, InteractiveEngine, run_metrics
from evaluation.parsing import CANNOT_ANSWER
from evaluation.patients import EmbeddingPatient, LLMFactPatient

from .helpers import ScriptedBackend, make_case, role, user_text


def expert_reply(confident_after=2, letter="B"):
    def reply(request):
        text = user_text(request)
        if "LETTER CHOICE" in text:
            return f"LETTER CHOICE: {letter}"
        answers = text.count("Patient Response:")
        decision = "Very Confident" if answers >= confident_after else "Somewhat Unconfident"
        return f"REASON: I have {answers} answers; I am not very confident otherwise.\nDECISION: {decision}"
    return reply


def make_engine(expert, questioner=None, patient=None, **options):
    questioner = questioner or ScriptedBackend(lambda request: "Sure. Do you have a fever?")
    patient = patient or ScriptedBackend(lambda request: "1. The patient has had a fever of 39 degrees for three days.")
    return InteractiveEngine(role("expert", expert), role("question_generator", questioner),
                             LLMFactPatient(role("patient", patient)), **options), questioner, patient


def test_it_advances_all_cases_together_with_one_batch_per_role_and_turn():
    expert = ScriptedBackend(expert_reply(confident_after=2))
    engine, questioner, patient = make_engine(expert)
    episodes = engine.run([make_case(n) for n in range(5)], seed=7)
    assert [len(call) for call in expert.calls] == [10, 10, 10]  # a letter and a confidence prompt per case
    assert [len(call) for call in questioner.calls] == [5, 5]
    assert [len(call) for call in patient.calls] == [5, 5]
    assert all(e.finished and e.num_questions == 2 and e.letter == "B" and e.correct and not e.timed_out
               for e in episodes)
    assert episodes[0].confidences == [2, 2, 5] and episodes[0].choices == ["B", "B", "B"]


def test_it_forces_an_answer_after_the_question_limit():
    expert = ScriptedBackend(expert_reply(confident_after=99, letter="C"))
    engine, _, _ = make_engine(expert, max_questions=3)
    (episode,) = engine.run([make_case(1)], seed=0)
    assert episode.num_questions == 3 and episode.timed_out and episode.letter == "C" and not episode.correct
    assert [len(call) for call in expert.calls] == [2, 2, 2, 1]  # the last call asks for the letter only
    assert episode.transcript[-1] == {"role": "expert", "kind": "answer", "letter": "C", "forced": True}


def test_it_retries_unparseable_expert_replies_then_records_them_as_such():
    expert = ScriptedBackend(lambda request: "zzq blorp")
    engine, _, _ = make_engine(expert, max_questions=2, max_attempts=3)
    (episode,) = engine.run([make_case(1)], seed=0)
    assert [len(call) for call in expert.calls] == [2, 2, 2, 2, 2, 2, 1, 1, 1]  # three calls per turn
    confidence = episode.transcript[0]
    assert confidence["kind"] == "confidence" and confidence["confidence"] is None and confidence["attempts"] == 3
    assert confidence["raw"] == ["zzq blorp"] * 3
    assert episode.letter is None and not episode.correct and episode.num_questions == 2  # unparseable: asks on
    metrics = run_metrics([{**episode.to_dict(), "repeat": 0}], 2)
    assert metrics["unanswered"] == 1 and metrics["correct"] == 0


def test_it_retries_only_the_replies_it_could_not_parse():
    seen = set()

    def flaky(request):  # the first reply to each prompt is junk, the second is valid
        key = user_text(request)
        if key not in seen:
            seen.add(key)
            return "zzq"
        return expert_reply(confident_after=0)(request)

    expert = ScriptedBackend(flaky)
    engine, _, _ = make_engine(expert)
    episodes = engine.run([make_case(1), make_case(2)], seed=0)
    assert [len(call) for call in expert.calls] == [4, 4]
    assert all(e.letter == "B" and e.confidences == [5] and e.transcript[0]["attempts"] == 2 for e in episodes)


def test_it_answers_from_the_case_facts_only():
    expert = ScriptedBackend(expert_reply(confident_after=1))
    patient = ScriptedBackend(lambda request: "3. The patient has a dry cough.\nThe patient also has diabetes.")
    engine, _, _ = make_engine(expert, patient=patient)
    (episode,) = engine.run([make_case(1)], seed=0)
    answer = next(event for event in episode.transcript if event["role"] == "patient")
    assert answer["text"] == "The patient has a dry cough." and answer["facts"] == [2]
    assert "diabetes" not in episode.history[0][1]


def test_it_says_the_patient_cannot_answer_when_no_fact_is_chosen():
    expert = ScriptedBackend(expert_reply(confident_after=1))
    patient = ScriptedBackend(lambda request: "I am not sure what to say.")
    engine, _, _ = make_engine(expert, patient=patient)
    (episode,) = engine.run([make_case(1)], seed=0)
    answer = next(event for event in episode.transcript if event["role"] == "patient")
    assert answer["text"] == CANNOT_ANSWER and answer["cannot_answer"] and not answer["parsed"]
    assert answer["attempts"] == 2


def test_it_never_passes_a_missing_question_to_the_patient():
    expert = ScriptedBackend(expert_reply(confident_after=1))
    questioner = ScriptedBackend(lambda request: "")
    engine, _, patient = make_engine(expert, questioner=questioner)
    (episode,) = engine.run([make_case(1)], seed=0)
    assert patient.calls == []
    assert episode.history == [(NO_QUESTION, CANNOT_ANSWER)] and episode.num_questions == 1


def test_it_keeps_the_first_line_when_the_generator_asks_without_a_question_mark():
    expert = ScriptedBackend(expert_reply(confident_after=1))
    questioner = ScriptedBackend(lambda request: "Tell me about the fever\nmore text")
    engine, _, _ = make_engine(expert, questioner=questioner)
    (episode,) = engine.run([make_case(1)], seed=0)
    question = next(event for event in episode.transcript if event["kind"] == "question")
    assert question["question"] == "Tell me about the fever" and question["parsed"] is False


def test_it_runs_one_case_at_a_time_with_the_same_seeds():
    def run(one_at_a_time):
        expert = ScriptedBackend(expert_reply(confident_after=1))
        engine, _, _ = make_engine(expert)
        episodes = engine.run([make_case(n) for n in range(3)], seed=5, one_at_a_time=one_at_a_time)
        seeds = sorted({request.sampling.seed for call in expert.calls for request in call})
        return [e.to_dict() for e in episodes], seeds, len(expert.calls)

    batched, batched_seeds, batched_calls = run(False)
    alone, alone_seeds, alone_calls = run(True)
    assert batched == alone and batched_seeds == alone_seeds
    assert (batched_calls, alone_calls) == (2, 6)


def test_it_gives_identical_transcripts_and_metrics_for_the_same_seed(tiny_backend):
    from synthesis.configs import SamplingConfig

    sampling = SamplingConfig(temperature=1.0, top_p=1.0, max_tokens=8)

    def run(seed):
        roles = [role(name, tiny_backend, sampling) for name in ("expert", "question_generator", "patient")]
        engine = InteractiveEngine(roles[0], roles[1], LLMFactPatient(roles[2]), max_questions=2)
        episodes = [{**e.to_dict(), "repeat": 0} for e in engine.run([make_case(n) for n in range(3)], seed=seed)]
        return episodes, run_metrics(episodes, 2)

    first, second, other = run(11), run(11), run(12)
    assert first == second
    texts = [event["raw"] for episode in first[0] for event in episode["transcript"] if "raw" in event]
    assert texts != [event["raw"] for episode in other[0] for event in episode["transcript"] if "raw" in event]


def test_it_samples_the_same_transcript_for_a_case_alone_and_inside_a_batch(tiny_backend):
    """Each request samples from its own generator, seeded by (run seed, turn, role, attempt, case): a case's text
    does not depend on which cases share its batch, nor on their prompts' lengths (padding)."""
    from dataclasses import replace

    from synthesis.configs import SamplingConfig

    sampling = SamplingConfig(temperature=1.0, top_p=0.9, max_tokens=8)
    roles = [role(name, tiny_backend, sampling) for name in ("expert", "question_generator", "patient")]
    engine = InteractiveEngine(roles[0], roles[1], LLMFactPatient(roles[2]), max_questions=2)
    cases = [make_case(n) for n in range(4)]
    cases[0] = replace(cases[0], initial_info=cases[0].initial_info + " It started after a long trip abroad." * 6)
    batched = {e.case.case_id: e.to_dict() for e in engine.run(cases, seed=7)}
    for case in (cases[0], cases[2]):
        (alone,) = engine.run([case], seed=7)
        assert alone.to_dict() == batched[case.case_id]
    texts = {case_id: [e["raw"] for e in episode["transcript"] if "raw" in e] for case_id, episode in batched.items()}
    assert len({repr(value) for value in texts.values()}) > 1  # sampled: the cases did not all say the same


@pytest.fixture(scope="module")
def embedding_patient():
    return EmbeddingPatient(top_k=2, threshold=0.5)


def test_it_selects_facts_by_embedding_similarity(embedding_patient):
    case = make_case(1)
    fever, film = embedding_patient.answer([case, case], ["Have you had a fever?", "What is your favourite film?"],
                                           ("seed",))
    assert 0 in fever.facts and fever.text.startswith("The patient has had a fever")
    assert film.cannot_answer and film.text == CANNOT_ANSWER
    again = embedding_patient.answer([case], ["Have you had a fever?"], ("other seed",))[0]
    assert again == fever  # deterministic: no sampling


def test_it_summarizes_repeats_with_a_mean_and_interval():
    def episode(case, repeat, correct, questions):
        return {"case_id": case, "repeat": repeat, "correct": correct, "num_questions": questions, "timed_out": False,
                "letter": "B" if correct else "A", "answer_idx": "B", "choices": ["A", "B" if correct else "A"]}

    episodes = [episode("c1", 0, True, 1), episode("c2", 0, False, 1), episode("c1", 1, True, 1),
                episode("c2", 1, True, 1)]
    metrics = run_metrics(episodes, max_questions=1)
    assert (metrics["correct"], metrics["cases"], metrics["accuracy"]) == (1, 2, 0.5)  # the first repeat
    assert metrics["repeats"] == 2 and metrics["accuracy_mean"]["value"] == 0.75
    assert metrics["accuracy_mean"]["low"] < 0.75 < metrics["accuracy_mean"]["high"]
    assert metrics["accuracy_ci"]["n"] == 2 and metrics["accuracy_ci"]["value"] == 0.75
    assert metrics["mean_questions"] == 1 and metrics["by_questions"] == {1: {"cases": 2, "correct": 1,
                                                                             "accuracy": 0.5}}
