"""Write the demo corpus in the real record formats and create one demo user per role."""

import json
import secrets
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User

from alfa_platform.roles import Role
from alfa_platform.users import create_user_with_role

from .actions import do_create_campaign, do_import_items, do_set_campaign_status
from .demo_threads import DEMO_DEGRADED, DEMO_MCQS, DEMO_THREADS
from .models import Campaign, CampaignStatus, JudgmentMode

DEMO_DIR = settings.VAR_DIR / "demo"
CREDENTIALS_FILE = settings.VAR_DIR / "demo-credentials.json"
DEMO_CAMPAIGN = "Demo: real doctor questions vs degraded versions"
DEMO_USERS = [("lead", Role.LEAD), ("physician", Role.ANNOTATOR), ("physician2", Role.ANNOTATOR),
              ("reviewer", Role.REVIEWER), ("admin", Role.ADMIN)]
BASE_UTC = 1_600_000_000


def parent_id(thread: Mapping[str, Any], depth: int) -> str:
    """Return the Reddit fullname of a comment's parent: the post for the first turn, else the patient's reply."""
    return f"t3_{thread['post_id']}" if depth == 0 else f"t1_{thread['post_id']}c{depth * 2 - 1}"


def question_records(thread: Mapping[str, Any], index: int) -> Iterator[dict[str, Any]]:
    """Yield one question record (the 43-field format of test_q.jsonl) per doctor question of a demo thread."""
    thread_id = f"t_{thread['post_id']}c0-0"
    created = BASE_UTC + index * 86_400
    previous: list[dict[str, Any]] = []
    for depth, (comment_body, questions, answer) in enumerate(thread["turns"]):
        comment_id = f"{thread['post_id']}c{depth * 2}"
        for j, (question, qtype, hypotheses, binary) in enumerate(questions):
            yield {
                "thread_id": thread_id, "post": thread["post"], "title": thread["title"],
                "author_post": thread["author"], "id_post": thread["post_id"],
                "post_author_feedback": True, "pos_post_author_feedback": 1.0,
                "turn_count": 2 * len(thread["turns"]), "total_score": 5 + index,
                "verified_author_flairs": [thread["flair"]], "unique_author_counts": 2,
                "year": thread["year"], "created_utc": created, "has_conclusion": 1, "refer_to_hospital": 0.0,
                "prev_additional_contexts": list(previous),
                "comment_id": comment_id, "comment_author": f"dr_demo_{index}",
                "comment_body": comment_body, "comment_is_question": True, "comment_is_response": False,
                "comment_respond_to": None, "comment_requested_info": None, "comment_question_type": None,
                "comment_is_personal_experience": False, "comment_is_medical_knowledge": True,
                "comment_is_answered": answer is not None, "comment_is_relevant": True, "comment_score": 3,
                "comment_parent_id": parent_id(thread, depth),
                "comment_turn_level": depth * 2, "comment_author_flair_text": thread["flair"],
                "comment_created_utc": created + 3600 * (depth + 1),
                "qid": f"{thread_id}-c{depth * 2}-q{j}", "question": question, "patient_answer": answer,
                "question_type": qtype, "binary_question": binary, "hypotheses": hypotheses,
                "additional_context": answer or "(no answer given)",
                "final_diagnosis": thread["diagnosis"], "conclusion": thread["conclusion"], "has_final_diagnosis": 1,
            }
        for question, *_ in questions:
            previous.append({"question": question, "patient_answer": answer, "additional_context": answer or ""})


def mcq_record(thread: Mapping[str, Any], index: int) -> dict[str, Any]:
    stem, options, answer_idx = DEMO_MCQS[thread["post_id"]]
    letters = dict(zip("ABCD", options, strict=True))
    original = f"{thread['title']}\n\n{thread['post']}"
    blocks = "".join(f"\n\nDoctor Question: {c}\nPatient Response: {a}" for c, _, a in thread["turns"])
    facts = [f"The patient wrote: {sentence.strip()}." for sentence in thread["post"].split(". ") if sentence.strip()]
    return {
        "id": f"t_{thread['post_id']}c0-0", "question": stem, "options": letters, "answer": letters[answer_idx],
        "answer_idx": answer_idx, "atomic_facts": facts, "usage": {}, "context": original + blocks,
        "initial_info": thread["title"], "original_post": original,
    }


def write_demo_files() -> tuple[Path, Path]:
    """Write the demo question records and MCQs as JSONL under var/demo/ and return their paths."""
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    questions, mcqs = DEMO_DIR / "demo_questions.jsonl", DEMO_DIR / "demo_mcq.jsonl"
    with questions.open("w") as out:
        for index, thread in enumerate(DEMO_THREADS):
            for record in question_records(thread, index):
                out.write(json.dumps(record) + "\n")
    with mcqs.open("w") as out:
        for index, thread in enumerate(DEMO_THREADS):
            out.write(json.dumps(mcq_record(thread, index)) + "\n")
    return questions, mcqs


def ensure_demo_users() -> dict[str, dict[str, str]]:
    """Create the demo users once with random passwords kept in var/; return {username: (role, password)}."""
    known = json.loads(CREDENTIALS_FILE.read_text()) if CREDENTIALS_FILE.exists() else {}
    for username, role in DEMO_USERS:
        if username not in known:
            known[username] = {"role": role.value, "password": secrets.token_urlsafe(9)}
        user = create_user_with_role(username, role)
        if not user.check_password(known[username]["password"]):
            user.set_password(known[username]["password"])
            user.save(update_fields=["password"])
    CREDENTIALS_FILE.write_text(json.dumps(known, indent=2))
    CREDENTIALS_FILE.chmod(0o600)
    return known


def demo_pair_rows() -> Iterator[dict[str, Any]]:
    """Yield the demo campaign's items in the annotation JSONL format: the real question vs a degraded one."""
    for thread in DEMO_THREADS:
        if thread["post_id"] not in DEMO_DEGRADED:
            continue
        attribute, degraded = DEMO_DEGRADED[thread["post_id"]]
        real = thread["turns"][0][1][0][0]
        yield {
            "id": f"demo-{thread['post_id']}", "qid": f"t_{thread['post_id']}c0-0-c0-q0",
            "context": {"title": thread["title"], "post": thread["post"], "turns": []},
            "question_a": real, "question_b": degraded, "attribute": attribute,
            "source_a": "doctor", "source_b": "hand-written degraded",
        }


def ensure_demo_campaign(lead: User, annotators: Iterable[User]) -> Campaign:
    """Create the demo campaign once (active, overlap 2) for the demo physicians; return it."""
    campaign = Campaign.objects.filter(name=DEMO_CAMPAIGN).first()
    if campaign is not None:
        return campaign
    rows = list(demo_pair_rows())
    campaign = do_create_campaign(
        DEMO_CAMPAIGN, lead, annotators=annotators, judgment_mode=JudgmentMode.PER_ATTRIBUTE,
        attribute_keys=sorted({row["attribute"] for row in rows}), overlap=2, gold_rate=0.0,
        guidelines="Pick the question a good clinician would rather ask **for the attribute shown**. "
                   "Keys: 1 left, 2 right, 0 tie, Enter submits, S skips, U undoes.",
    )
    do_import_items(campaign, "".join(json.dumps(row) + "\n" for row in rows).encode())
    do_set_campaign_status(campaign, CampaignStatus.ACTIVE)
    return campaign
