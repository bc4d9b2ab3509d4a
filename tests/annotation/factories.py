"""Test data built through the ORM: MediQ-AskDocs cases with their threads."""

from corpus.models import MultipleChoiceCase, Post, Thread

OPTIONS = {
    "A": "Apply a warm compress and wait.",
    "B": "See a doctor today because the redness is spreading quickly with fever.",
    "C": "Take antibiotics left over from last year.",
    "D": "Ignore it.",
}


def create_case(case_id="t_abc-0", answer_idx="B", options=None, facts=None, title="Red swollen leg",
                body="My calf is red and warm since yesterday."):
    """Create a MediQ-AskDocs case (and its post and thread) with a bulleted and a meta fact."""
    post = Post.objects.create(post_id=f"p_{case_id}", title=title, body=body, author_pseudonym="x",
                               content_hash="h", split="test")
    thread = Thread.objects.create(thread_id=case_id, post=post, content_hash="h")
    original = f"{title}\n\n{body}"
    context = original + "\n\nDoctor Question: Do you have a fever?\nPatient Response: Yes, 38.5 C."
    return MultipleChoiceCase.objects.create(
        source=MultipleChoiceCase.Source.ASKDOCS, case_id=case_id, thread=thread,
        stem="What should the patient do next?", options=dict(options or OPTIONS), answer_idx=answer_idx,
        context=[context], original_post=original, initial_info="Persistent headaches and dizziness.",
        atomic_facts=facts if facts is not None else [
            "- The patient has a red, warm calf.", "- The doctor asked if the patient has a fever.",
            "The patient has a fever of 38.5 C.",
        ],
        derived={"usage": {"input_tokens": 1}}, content_hash="h",
    )
