"""Corpus records built through the ORM for the page, API and search tests (the importer fills the same fields)."""

import hashlib

from corpus.models import Comment, MultipleChoiceCase, Post, Question, Split, Thread


def digest(*parts):
    return hashlib.md5("|".join(map(str, parts)).encode()).hexdigest()


def make_post(post_id, *, title="A question", body="My post.", split=Split.TEST):
    return Post.objects.create(
        post_id=post_id, title=title, body=body, author_pseudonym=digest("op", post_id)[:16], year=2019,
        split=split, content_hash=digest(title, body),
    )


def make_thread(thread_id, *, post=None, title="A question", body="My post.", split=Split.TEST, questions=(),
                final_diagnosis="", conclusion="", credentialed=False, flair="", derived=None):
    """Create a thread with one doctor comment per question turn.

    `questions` holds dicts with `text` and optionally `answer`, `type`, `turn`, `derived`, `previous_turns`.
    """
    post = post or make_post(f"p{thread_id}", title=title, body=body, split=split)
    thread = Thread.objects.create(
        thread_id=thread_id, post=post, turn_count=2 * len(questions),
        verified_author_flairs=[flair] if flair else [], has_credentialed_author=credentialed,
        final_diagnosis=final_diagnosis, has_final_diagnosis=bool(final_diagnosis),
        conclusion=conclusion, has_conclusion=bool(conclusion), derived=derived or {}, question_count=len(questions),
        search_text=" ".join([post.title, post.body, *(q["text"] for q in questions)]).lower(),
        content_hash=digest(thread_id),
    )
    comments = {}
    for index, spec in enumerate(questions):
        turn = spec.get("turn", 0)
        if turn not in comments:
            comments[turn] = Comment.objects.create(
                thread=thread, comment_id=f"c{thread_id}{turn}", author_pseudonym=digest("doc", thread_id)[:16],
                body=spec.get("comment", spec["text"]), turn_level=turn, flair_text=flair,
                is_credentialed=credentialed, content_hash=digest("c", thread_id, turn),
            )
        answer = spec.get("answer", "")
        Question.objects.create(
            qid=f"{thread_id}-c{turn}-q{index}", thread=thread, comment=comments[turn], turn_index=turn,
            question_index=index, text=spec["text"], patient_answer=answer, has_patient_answer=bool(answer),
            question_type=spec.get("type", "Followup"), previous_turns=spec.get("previous_turns", []),
            derived=spec.get("derived", {}), content_hash=digest("q", thread_id, index),
        )
    return thread


def make_mcq(thread, *, case_id=None, source=MultipleChoiceCase.Source.ASKDOCS, initial_info="Lower back pain."):
    options = {"A": "Rest.", "B": "Colonoscopy.", "C": "Hydrate and see a doctor if it persists.", "D": "Fast."}
    return MultipleChoiceCase.objects.create(
        source=source, case_id=case_id or (thread.thread_id if thread else "medqa-1"), thread=thread,
        stem="Which action is most appropriate?", options=options, answer_idx="C", context=["case"],
        atomic_facts=["The patient has diarrhea.", "The patient has cramps."], initial_info=initial_info,
        original_post="post", content_hash=digest("mcq", case_id),
    )


def build_corpus():
    """Create four threads under three posts, covering every filter value the tests use."""
    doctor_comment = "Food poisoning? Did you eat at a restaurant recently? Any fever?"
    food = make_thread(
        "t_aaa-0", title="Yellow diarrhea and cramps", split=Split.TEST, final_diagnosis="Food poisoning",
        conclusion="Probably something you ate.", credentialed=True, flair="Physician",
        derived={"refer_to_hospital": 0.0},
        body="Five days of yellow diarrhea. <script>alert('post')</script> & <b>bold</b>",
        questions=[
            {"text": "Did you eat at a restaurant recently?", "answer": "No, we cooked chicken at home.",
             "type": "Hypotheses testing", "comment": doctor_comment,
             "derived": {"hypotheses": ["food poisoning"], "binary_question": True,
                         "additional_context": "I cooked chicken at home."}},
            {"text": "Any fever?", "answer": "", "type": "Followup", "comment": doctor_comment,
             "derived": {"hypotheses": [], "binary_question": True, "additional_context": "Hardly any fever at all."}},
        ],
    )
    make_mcq(food)
    headache = make_post("pbbb", title="Persistent headache after a fall", body="I fell off my bike.",
                         split=Split.TRAIN)
    make_thread("t_bbb-0", post=headache, questions=[
        {"text": "How long have you had the headache?", "answer": "Two weeks.", "type": "Clarification"},
    ])
    make_thread("t_bbb-1", post=headache, questions=[
        {"text": "Did you lose consciousness?", "answer": "No.", "type": "Hypotheses testing"},
    ])
    make_thread("t_ccc-0", title="Rash on both arms", body="Itchy red rash.", split=Split.VALIDATION,
                final_diagnosis="Contact dermatitis", questions=[
                    {"text": "Any new soaps or detergents?", "answer": "A new detergent.", "type": "Checklist"},
                ])
    return food
