"""Gold labels for MediQ-AskDocs: blind answers, versioned edits, sign-off, balance, rebalancing and releases."""

import hashlib
import json
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from corpus.models import MultipleChoiceCase

from .models import (
    LETTERS,
    BenchmarkRelease,
    BlindAnswer,
    GoldLabel,
    GoldRevision,
    GoldStatus,
    ReleaseItem,
    RevisionKind,
)

CONTENT_FIELDS = ("stem", "options", "answer_idx", "option_implied", "atomic_facts", "initial_info",
                  "initial_info_reviewed")
BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s+")
# Facts about the conversation rather than the patient ("The doctor asked if ...", "did not answer ...").
META_FACT = re.compile(
    r"\b(doctor|physician|commenter|clinician)\b[^.]*\b(ask(s|ed)?|inquir(es|ed)|question(s|ed)|want(s|ed) to know)\b"
    r"|\b(did not|didn't|has not|hasn't|does not|doesn't) (yet )?(respond|reply|answer|provide)",
    re.IGNORECASE,
)
DOCTOR_TURN = re.compile(r"\n\nDoctor Question: ")


class GoldError(Exception):
    """A gold-label request that the label's state or the input does not allow."""


# --- Reading a case -------------------------------------------------------------------------------------------------


def context_text(case: MultipleChoiceCase) -> str:
    """Return the case context as the published file has it: one string."""
    if isinstance(case.context, str):
        return case.context
    return "\n".join(str(part) for part in case.context or [])


def case_conversation(case: MultipleChoiceCase) -> tuple[str, str, list[dict[str, str]]]:
    """Return (title, body, turns) parsed from the case context: the post, then Doctor Question / Patient Response."""
    text = context_text(case) or case.original_post
    post, *blocks = DOCTOR_TURN.split(text)
    title, _, body = post.partition("\n\n")
    turns = []
    for block in blocks:
        question, _, answer = block.partition("\nPatient Response: ")
        turns.append({"question": question.strip(), "patient_answer": "" if answer.strip() == "None" else answer})
    return title.strip(), body.strip(), turns


def strip_bullet(fact: str) -> str:
    return BULLET.sub("", fact).strip()


def is_meta_fact(fact: str) -> bool:
    return bool(META_FACT.search(fact))


def key_is_longest(options: Mapping[str, str], answer_idx: str) -> bool:
    """True when the key is (one of) the longest options: a cue a test-taker can exploit."""
    lengths = {letter: len(text) for letter, text in options.items()}
    return bool(lengths) and lengths.get(answer_idx, -1) == max(lengths.values())


# --- Creating and editing -------------------------------------------------------------------------------------------


def _published_state(case: MultipleChoiceCase) -> dict[str, Any]:
    return {
        "stem": case.stem, "options": dict(case.options), "answer_idx": case.answer_idx, "option_implied": {},
        "atomic_facts": list(case.atomic_facts or []), "initial_info": case.initial_info,
        "initial_info_reviewed": False,
    }


def get_or_create_gold(case: MultipleChoiceCase, user: User | None = None) -> GoldLabel:
    """Return the case's gold label, creating it from the published values (version 1) on first use."""
    try:
        return case.gold
    except GoldLabel.DoesNotExist:
        pass
    try:
        with transaction.atomic():
            gold = GoldLabel.objects.create(case=case, updated_by=user, **_published_state(case))
            GoldRevision.objects.create(gold=gold, version=1, kind=RevisionKind.CREATED, author=user)
    except IntegrityError:  # another physician opened the same case at the same moment
        gold = GoldLabel.objects.get(case=case)
    return gold


def do_ensure_gold_labels(source: str = MultipleChoiceCase.Source.ASKDOCS) -> int:
    """Create missing gold labels for every case of a source; return how many were created."""
    missing = MultipleChoiceCase.objects.filter(source=source, gold__isnull=True)
    created = 0
    for case in missing.iterator():
        get_or_create_gold(case)
        created += 1
    return created


def _apply(gold: GoldLabel, user: User, kind: str, new_values: Mapping[str, Any], note: str = ""
           ) -> GoldRevision | None:
    """Write a versioned change: one GoldRevision with old and new values; content edits reopen a sign-off."""
    changes = {
        name: [getattr(gold, name), value] for name, value in new_values.items() if getattr(gold, name) != value
    }
    if not changes:
        return None
    if gold.status == GoldStatus.SIGNED_OFF and kind != RevisionKind.REBALANCE:
        changes["status"] = [GoldStatus.SIGNED_OFF, GoldStatus.DRAFT]
        gold.signed_off_by, gold.signed_off_at = None, None
    for name, (_old, new) in changes.items():
        setattr(gold, name, new)
    gold.version += 1
    gold.updated_by = user
    gold.save()
    return GoldRevision.objects.create(gold=gold, version=gold.version, kind=kind, author=user, changes=changes,
                                       note=note)


def _locked(gold: GoldLabel) -> GoldLabel:
    return GoldLabel.objects.select_for_update().get(pk=gold.pk)


def has_answered_blind(gold: GoldLabel, user: User) -> bool:
    return BlindAnswer.objects.filter(gold=gold, user=user).exists()


def do_record_blind_answer(gold: GoldLabel, user: User, letter: str, time_ms: int | None = None) -> BlindAnswer:
    """Record a physician's answer before the key is shown; one per physician and case."""
    if letter not in gold.options:
        raise GoldError(f"Choose one of {', '.join(gold.options)}.")
    try:
        with transaction.atomic():
            return BlindAnswer.objects.create(
                gold=gold, user=user, letter=letter, option_text=gold.options[letter],
                is_correct=letter == gold.answer_idx, gold_version=gold.version, time_ms=time_ms,
            )
    except IntegrityError as exc:
        raise GoldError("You already answered this case blind.") from exc


def _require_blind(gold: GoldLabel, user: User) -> None:
    if not has_answered_blind(gold, user):
        raise GoldError("Answer the case blind before you see or change the key.")


def do_edit_gold(gold: GoldLabel, user: User, stem: str | None = None, options: Mapping[str, Any] | None = None,
                 answer_idx: str | None = None, note: str = "") -> tuple[GoldLabel, GoldRevision | None]:
    """Edit the stem, options or key (versioned)."""
    _require_blind(gold, user)
    new: dict[str, Any] = {}
    if stem is not None:
        if not stem.strip():
            raise GoldError("The stem cannot be empty.")
        new["stem"] = stem.strip()
    if options is not None:
        if sorted(options) != list(LETTERS) or not all(str(text).strip() for text in options.values()):
            raise GoldError("Give four non-empty options A to D.")
        new["options"] = {letter: str(options[letter]).strip() for letter in LETTERS}
    if answer_idx is not None:
        if answer_idx not in LETTERS:
            raise GoldError("The key must be one of A, B, C, D.")
        new["answer_idx"] = answer_idx
    with transaction.atomic():
        gold = _locked(gold)
        moved = new.get("answer_idx", gold.answer_idx) != gold.answer_idx
        if moved or new.get("options", gold.options) != gold.options:
            new["option_implied"] = {}  # the marks were given for other texts or another key
        return gold, _apply(gold, user, RevisionKind.EDIT, new, note)


def do_mark_implied(gold: GoldLabel, user: User, marks: Mapping[str, bool]) -> tuple[GoldLabel, GoldRevision | None]:
    """Mark each option as implied (True) or not implied (False) by the case."""
    _require_blind(gold, user)
    if sorted(marks) != list(LETTERS) or not all(isinstance(value, bool) for value in marks.values()):
        raise GoldError("Mark each of A to D as implied or not implied.")
    with transaction.atomic():
        gold = _locked(gold)
        return gold, _apply(gold, user, RevisionKind.IMPLIED, {"option_implied": dict(marks)})


def clean_facts(facts: Iterable[object]) -> list[str]:
    """Strip list bullets and surrounding space, drop empty and repeated facts."""
    cleaned = [strip_bullet(str(fact)) for fact in facts]
    return list(dict.fromkeys(fact for fact in cleaned if fact))


def do_curate_facts(gold: GoldLabel, user: User, facts: Iterable[object], note: str = ""
                    ) -> tuple[GoldLabel, GoldRevision | None]:
    """Replace the atomic facts with the curated list (bullets stripped, empties dropped)."""
    _require_blind(gold, user)
    facts = clean_facts(facts)
    if not facts:
        raise GoldError("Keep at least one atomic fact.")
    with transaction.atomic():
        gold = _locked(gold)
        return gold, _apply(gold, user, RevisionKind.FACTS, {"atomic_facts": facts}, note)


def do_set_initial_info(gold: GoldLabel, user: User, text: str) -> tuple[GoldLabel, GoldRevision | None]:
    """Write or confirm the chief complaint (the published one was generated without the case)."""
    _require_blind(gold, user)
    if not text.strip():
        raise GoldError("Write the chief complaint.")
    with transaction.atomic():
        gold = _locked(gold)
        return gold, _apply(gold, user, RevisionKind.INITIAL_INFO,
                            {"initial_info": text.strip(), "initial_info_reviewed": True})


def sign_off_problems(gold: GoldLabel, user: User) -> list[str]:
    """Return what stops this user signing the label off (empty when it may be signed off)."""
    if not has_answered_blind(gold, user):
        # Nothing else: whether "the key is implied" would tell a user who has not answered where the key is.
        return ["Answer the case blind first."]
    problems = []
    if sorted(gold.option_implied) != list(LETTERS):
        problems.append("Mark every option as implied or not implied.")
    elif not gold.option_implied.get(gold.answer_idx):
        problems.append("The key must be implied by the case.")
    elif any(gold.option_implied[letter] for letter in LETTERS if letter != gold.answer_idx):
        problems.append("A distractor is implied by the case: fix the options so only the key is.")
    if not gold.initial_info_reviewed:
        problems.append("Write or confirm the chief complaint.")
    if not gold.atomic_facts or any(BULLET.match(fact) for fact in gold.atomic_facts):
        problems.append("Curate the atomic facts (no bullets, at least one fact).")
    return problems


def do_sign_off(gold: GoldLabel, user: User) -> tuple[GoldLabel, GoldRevision | None]:
    with transaction.atomic():
        gold = _locked(gold)
        problems = sign_off_problems(gold, user)
        if problems:
            raise GoldError(" ".join(problems))
        if gold.status == GoldStatus.SIGNED_OFF:
            return gold, None
        now = timezone.now()
        changes = {"status": [gold.status, GoldStatus.SIGNED_OFF], "signed_off_by": [None, user.username]}
        gold.status, gold.signed_off_by, gold.signed_off_at = GoldStatus.SIGNED_OFF, user, now
        gold.version += 1
        gold.updated_by = user
        gold.save()
        revision = GoldRevision.objects.create(gold=gold, version=gold.version, kind=RevisionKind.SIGN_OFF,
                                               author=user, changes=changes)
    return gold, revision


def do_reopen_gold(gold: GoldLabel, user: User, note: str = "") -> GoldLabel:
    with transaction.atomic():
        gold = _locked(gold)
        if gold.status != GoldStatus.SIGNED_OFF:
            raise GoldError("Only a signed-off label can be reopened.")
        gold.status, gold.signed_off_by, gold.signed_off_at = GoldStatus.DRAFT, None, None
        gold.version += 1
        gold.updated_by = user
        gold.save()
        GoldRevision.objects.create(gold=gold, version=gold.version, kind=RevisionKind.REOPEN, author=user,
                                    changes={"status": [GoldStatus.SIGNED_OFF, GoldStatus.DRAFT]}, note=note)
    return gold


# --- Balance ----------------------------------------------------------------------------------------------------


def balance_of(pairs: Iterable[tuple[Mapping[str, str], str]]) -> dict[str, Any]:
    """Return key-position counts and the key-is-longest share for (options, answer_idx) pairs."""
    pairs = list(pairs)
    positions = Counter(answer for _options, answer in pairs)
    longest = sum(key_is_longest(options, answer) for options, answer in pairs)
    return {
        "total": len(pairs), "positions": {letter: positions.get(letter, 0) for letter in LETTERS},
        "key_is_longest": longest, "key_is_longest_share": longest / len(pairs) if pairs else None,
    }


def balance_report(source: str = MultipleChoiceCase.Source.ASKDOCS) -> dict[str, dict[str, Any]]:
    """Return the balance of the published cases and of the current gold labels."""
    cases = MultipleChoiceCase.objects.filter(source=source)
    golds = GoldLabel.objects.filter(case__source=source)
    return {
        "published": balance_of(cases.values_list("options", "answer_idx")),
        "gold": balance_of(golds.values_list("options", "answer_idx")),
        "signed_off": balance_of(golds.filter(status=GoldStatus.SIGNED_OFF).values_list("options", "answer_idx")),
    }


def reorder_options(options: Mapping[str, str], answer_idx: str, target: str
                    ) -> tuple[dict[str, str], str, dict[str, str]]:
    """Move the key to `target`, keeping the distractors in their order; return (options, key, letter map)."""
    distractors = [letter for letter in LETTERS if letter != answer_idx]
    cut = LETTERS.index(target)
    order = [*distractors[:cut], answer_idx, *distractors[cut:]]
    mapping = {old: new for new, old in zip(LETTERS, order, strict=True)}
    return {new: options[old] for new, old in zip(LETTERS, order, strict=True)}, target, mapping


def balanced_targets(count: int, seed: int) -> list[str]:
    """Return `count` key letters, each letter used count/4 times (give or take one), in seeded random order."""
    targets = [LETTERS[index % len(LETTERS)] for index in range(count)]
    random.Random(seed).shuffle(targets)
    return targets


def do_rebalance_options(user: User, seed: int = 0, source: str = MultipleChoiceCase.Source.ASKDOCS) -> int:
    """Reorder every gold label's options so key positions are balanced; the key text stays the key."""
    do_ensure_gold_labels(source)
    golds = list(GoldLabel.objects.filter(case__source=source).select_related("case").order_by("case__case_id"))
    changed = 0
    with transaction.atomic():
        for stale, target in zip(golds, balanced_targets(len(golds), seed), strict=True):
            # Re-read under a row lock: an edit (or another rebalance) since the list was read bumped its version,
            # and writing the stale version + 1 broke the unique (gold, version) revision constraint.
            gold = _locked(stale)
            if gold.answer_idx == target:
                continue
            options, key, mapping = reorder_options(gold.options, gold.answer_idx, target)
            implied = {mapping[old]: value for old, value in gold.option_implied.items()}
            _apply(gold, user, RevisionKind.REBALANCE,
                   {"options": options, "answer_idx": key, "option_implied": implied},
                   note=f"Key moved to {target} by rebalancing (seed {seed}).")
            changed += 1
    return changed


# --- Releases ----------------------------------------------------------------------------------------------------


def mediq_record(gold: GoldLabel) -> dict[str, Any]:
    """Return the gold label as a MediQ-AskDocs record, with the published file's fields in its order."""
    case = gold.case
    return {
        "id": case.case_id, "question": gold.stem, "options": dict(gold.options), "answer": gold.answer,
        "answer_idx": gold.answer_idx, "atomic_facts": list(gold.atomic_facts),
        "usage": (case.derived or {}).get("usage") or {}, "context": context_text(case),
        "initial_info": gold.initial_info, "original_post": case.original_post,
    }


MEDIQ_FIELDS = ("id", "question", "options", "answer", "answer_idx", "atomic_facts", "usage", "context",
                "initial_info", "original_post")


def jsonl_bytes(records: Iterable[Mapping[str, Any]]) -> bytes:
    """Serialise records with the published field order (PostgreSQL's jsonb does not keep key order)."""
    lines = []
    for record in records:
        ordered = {name: record[name] for name in MEDIQ_FIELDS}
        ordered["options"] = {letter: record["options"][letter] for letter in sorted(record["options"])}
        lines.append(json.dumps(ordered, ensure_ascii=False) + "\n")
    return "".join(lines).encode("utf-8")


def release_filename(release: BenchmarkRelease) -> str:
    """The download's file name: the release's name with anything but letters, digits, '.', '_' and '-' as '-'.

    Names from before control characters were refused may hold CR/LF, which a response header cannot carry.
    """
    return f"mediq-askdocs-{re.sub(r'[^A-Za-z0-9._-]+', '-', release.name).strip('-.') or release.pk}.jsonl"


def do_create_release(name: str, user: User, description: str = "", source: str = MultipleChoiceCase.Source.ASKDOCS
                      ) -> BenchmarkRelease:
    """Freeze the signed-off gold labels as a named release; its JSONL and hash never change afterwards."""
    name = name.strip()
    if not name:
        raise GoldError("Name the release.")
    if any(unicodedata.category(char) == "Cc" for char in name):  # CR/LF, tab, NUL: it names the download file
        raise GoldError("A release name may not contain control characters (line breaks, tabs).")
    if BenchmarkRelease.objects.filter(name=name).exists():
        raise GoldError(f"A release named {name!r} exists; releases are immutable, choose a new name.")
    golds = list(GoldLabel.objects.filter(case__source=source, status=GoldStatus.SIGNED_OFF)
                 .select_related("case").order_by("case__case_id"))
    if not golds:
        raise GoldError("No signed-off items to release.")
    records = [mediq_record(gold) for gold in golds]
    with transaction.atomic():
        release = BenchmarkRelease.objects.create(
            name=name, description=description, created_by=user, item_count=len(records),
            sha256=hashlib.sha256(jsonl_bytes(records)).hexdigest(),
        )
        ReleaseItem.objects.bulk_create([
            ReleaseItem(release=release, case_id=gold.case.case_id, gold_version=gold.version, position=index,
                        record=record)
            for index, (gold, record) in enumerate(zip(golds, records, strict=True))
        ])
    return release


def release_jsonl(release: BenchmarkRelease) -> bytes:
    """Return the release's MediQ JSONL, byte-identical to what was hashed at release time."""
    return jsonl_bytes(release.items.order_by("position").values_list("record", flat=True))
