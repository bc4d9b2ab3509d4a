"""Gold labels for MediQ-AskDocs: blind first, versioned edits, sign-off rules, balance, rebalancing, releases."""

import hashlib
import json

import pytest

from annotation import gold
from annotation.models import BenchmarkRelease, GoldRevision, GoldStatus, ReleaseItem, RevisionKind

pytestmark = pytest.mark.django_db
API = "/api/annotation/gold"


def complete(label, user):
    """Do every step a physician does before sign-off."""
    if not gold.has_answered_blind(label, user):
        gold.do_record_blind_answer(label, user, "B")
    label, _ = gold.do_mark_implied(label, user, {"A": False, "B": True, "C": False, "D": False})
    label, _ = gold.do_curate_facts(label, user, ["The patient has a red, warm calf.", "The patient has a fever."])
    label, _ = gold.do_set_initial_info(label, user, "My calf is red, warm and swollen since yesterday.")
    return label


def test_it_hides_the_key_until_the_physician_answers_blind(make_case, reviewer, api_client_for):
    case = make_case()
    client = api_client_for(reviewer)
    before = client.get(f"{API}/{case.pk}/").json()
    assert "answer_idx" not in before and "option_implied" not in before and "atomic_facts" not in before
    assert client.get(f"{API}/{case.pk}/revisions/").status_code == 403
    assert client.post(f"{API}/{case.pk}/implied/", {"marks": {"A": True, "B": True, "C": True, "D": True}},
                       format="json").status_code == 400
    after = client.post(f"{API}/{case.pk}/blind-answer/", {"letter": "A", "time_ms": 4000}, format="json").json()
    assert after["answer_idx"] == "B"
    blind = case.gold.blind_answers.get()
    assert (blind.letter, blind.is_correct, blind.option_text) == ("A", False, case.options["A"])
    again = client.post(f"{API}/{case.pk}/blind-answer/", {"letter": "B"}, format="json")
    assert again.status_code == 400  # one blind answer per physician, never revised after seeing the key


def test_it_versions_every_edit_with_old_and_new_values(make_case, reviewer):
    label = gold.get_or_create_gold(make_case(), reviewer)
    gold.do_record_blind_answer(label, reviewer, "B")
    new_options = {**label.options, "D": "Elevate the leg and watch for spreading redness."}
    label, revision = gold.do_edit_gold(label, reviewer, stem="What is the safest next step?", options=new_options,
                                        answer_idx="B", note="D was not plausible")
    assert label.version == 2 and revision.kind == RevisionKind.EDIT
    assert revision.changes["stem"] == ["What should the patient do next?", "What is the safest next step?"]
    assert revision.changes["options"][1]["D"] == "Elevate the leg and watch for spreading redness."
    assert "answer_idx" not in revision.changes  # unchanged fields are not recorded
    assert label.case.stem == "What should the patient do next?"  # the corpus keeps the published value
    assert list(GoldRevision.objects.filter(gold=label).values_list("version", flat=True)) == [1, 2]


def test_it_clears_implied_marks_when_the_key_moves(make_case, reviewer):
    label = gold.get_or_create_gold(make_case(), reviewer)
    gold.do_record_blind_answer(label, reviewer, "B")
    label, _ = gold.do_mark_implied(label, reviewer, {"A": False, "B": True, "C": False, "D": False})
    label, _ = gold.do_edit_gold(label, reviewer, answer_idx="A")
    assert label.option_implied == {}


def test_it_signs_off_only_a_complete_and_consistent_label(make_case, reviewer, second_annotator):
    label = gold.get_or_create_gold(make_case(), reviewer)
    gold.do_record_blind_answer(label, reviewer, "C")
    problems = gold.sign_off_problems(label, reviewer)
    assert len(problems) == 3  # marks, chief complaint, bullets in the facts
    with pytest.raises(gold.GoldError):
        gold.do_sign_off(label, reviewer)
    label, _ = gold.do_mark_implied(label, reviewer, {"A": True, "B": True, "C": False, "D": False})
    assert "A distractor is implied" in " ".join(gold.sign_off_problems(label, reviewer))
    label = complete(label, reviewer)
    assert gold.sign_off_problems(label, second_annotator) == ["Answer the case blind first."]
    label, revision = gold.do_sign_off(label, reviewer)
    assert (label.status, label.signed_off_by) == (GoldStatus.SIGNED_OFF, reviewer)
    assert revision.kind == RevisionKind.SIGN_OFF
    assert label.signed_off_at is not None


def test_it_reopens_a_signed_off_label_when_its_content_changes(make_case, reviewer):
    label = complete(gold.get_or_create_gold(make_case(), reviewer), reviewer)
    label, _ = gold.do_sign_off(label, reviewer)
    label, revision = gold.do_set_initial_info(label, reviewer, "Red, hot calf with fever.")
    assert label.status == GoldStatus.DRAFT and label.signed_off_by is None
    assert revision.changes["status"] == [GoldStatus.SIGNED_OFF, GoldStatus.DRAFT]


def test_it_strips_bullets_and_flags_meta_facts():
    assert gold.clean_facts(["- A fact.", "  * Another. ", "", "- A fact."]) == ["A fact.", "Another."]
    assert gold.is_meta_fact("- The doctor asked if the patient has a fever.")
    assert gold.is_meta_fact("The patient did not respond to the doctor's questions.")
    assert not gold.is_meta_fact("The doctor prescribed ibuprofen.")
    assert not gold.is_meta_fact("The patient has a fever of 38.5 C.")


def test_it_parses_the_case_into_a_conversation(make_case):
    title, body, turns = gold.case_conversation(make_case())
    assert (title, body) == ("Red swollen leg", "My calf is red and warm since yesterday.")
    assert turns == [{"question": "Do you have a fever?", "patient_answer": "Yes, 38.5 C."}]


def test_it_reorders_options_keeping_the_key_text():
    options = {"A": "a", "B": "b", "C": "key", "D": "d"}
    reordered, key, mapping = gold.reorder_options(options, "C", "A")
    assert (reordered, key) == ({"A": "key", "B": "a", "C": "b", "D": "d"}, "A")
    assert mapping == {"C": "A", "A": "B", "B": "C", "D": "D"}
    assert sorted(gold.balanced_targets(10, seed=1)).count("A") in (2, 3)


@pytest.fixture
def real_mcqs(shared_data):
    """The 302 real MediQ-AskDocs cases, imported by the corpus importer after their threads."""
    from corpus.importers import import_path
    from corpus.models import MultipleChoiceCase

    import_path(shared_data / "askdocs" / "test_q.jsonl", split="test")
    import_path(shared_data / "mediq" / "askdocs_mcq.jsonl")
    assert MultipleChoiceCase.objects.filter(source="askdocs", thread__isnull=False).count() == 302
    return shared_data / "mediq" / "askdocs_mcq.jsonl"


def test_it_reports_the_published_key_skew_and_rebalances_it(real_mcqs, lead):
    report = gold.balance_report()["published"]
    assert report["positions"] == {"A": 4, "B": 98, "C": 157, "D": 43}
    published_rows = [json.loads(line) for line in real_mcqs.read_text().splitlines()]
    longest = sum(gold.key_is_longest(row["options"], row["answer_idx"]) for row in published_rows)
    assert report["key_is_longest"] == longest and longest >= 167
    changed = gold.do_rebalance_options(lead, seed=7)
    balanced = gold.balance_report()["gold"]
    assert sorted(balanced["positions"].values()) == [75, 75, 76, 76]
    assert 200 < changed < 302  # a case whose key already sat on its target letter is left alone
    assert GoldRevision.objects.filter(kind=RevisionKind.REBALANCE).count() == changed
    answers = {row["id"]: row["answer"] for row in published_rows}
    from annotation.models import GoldLabel

    for label in GoldLabel.objects.select_related("case"):
        assert label.answer == answers[label.case.case_id]  # the key still points at the same text
        assert sorted(label.options.values()) == sorted(label.case.options.values())


def test_it_releases_signed_off_labels_as_mediq_jsonl(real_mcqs, lead, reviewer):
    from corpus.models import MultipleChoiceCase

    case = MultipleChoiceCase.objects.get(case_id="t_cc0j7jf-0")
    label = gold.get_or_create_gold(case, reviewer)
    gold.do_record_blind_answer(label, reviewer, case.answer_idx)
    marks = {letter: letter == case.answer_idx for letter in "ABCD"}
    label, _ = gold.do_mark_implied(label, reviewer, marks)
    facts = [fact for fact in label.atomic_facts if not gold.is_meta_fact(fact)]
    label, _ = gold.do_curate_facts(label, reviewer, facts)
    label, _ = gold.do_set_initial_info(label, reviewer, "Yellow diarrhea, cramps and fatigue for five days.")
    gold.do_sign_off(label, reviewer)

    release = gold.do_create_release("askdocs-gold-v1", lead, "first release")
    data = gold.release_jsonl(release)
    assert hashlib.sha256(data).hexdigest() == release.sha256
    [record] = [json.loads(line) for line in data.decode().splitlines()]
    published = next(json.loads(line) for line in real_mcqs.read_text().splitlines()
                     if json.loads(line)["id"] == "t_cc0j7jf-0")
    assert list(record) == list(published)  # the published file's fields, in its order
    for same in ("id", "question", "options", "answer", "answer_idx", "usage", "context", "original_post"):
        assert record[same] == published[same]
    assert record["initial_info"] == "Yellow diarrhea, cramps and fatigue for five days."
    kept = [gold.strip_bullet(fact) for fact in published["atomic_facts"] if not gold.is_meta_fact(fact)]
    assert record["atomic_facts"] == kept and len(kept) < len(published["atomic_facts"])

    with pytest.raises(ValueError, match="immutable"):
        release.save()
    with pytest.raises(ValueError, match="immutable"):
        ReleaseItem.objects.get().save()
    with pytest.raises(gold.GoldError, match="exists"):
        gold.do_create_release("askdocs-gold-v1", lead)
    gold.do_reopen_gold(label, reviewer)
    assert gold.release_jsonl(BenchmarkRelease.objects.get()) == data  # later edits never change a release
