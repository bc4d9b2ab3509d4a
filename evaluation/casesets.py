"""Case sets: frozen snapshots of MCQ cases from the corpus (AskDocs, MedQA), a MediQ-format file or a gold release.

A name may have several snapshots (the corpus changed, a file was edited); a run points at the exact one it used,
and a name resolves to its newest snapshot.
"""

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson
from django.contrib.auth.models import User
from django.db import transaction

from corpus.importers.mcq import CHECK_ASKDOCS, CHECK_MEDQA, check_options
from corpus.models import MultipleChoiceCase

from .models import CaseSet, CaseSetItem, CaseSetSource, InitialInfo
from .parsing import clean_fact

BUILT_IN = {
    "askdocs": (CaseSetSource.ASKDOCS, InitialInfo.ORIGINAL_POST),
    "askdocs-published": (CaseSetSource.ASKDOCS, InitialInfo.RECORD),
    "medqa": (CaseSetSource.MEDQA, InitialInfo.FIRST_SENTENCE),
}
RELEASE_PREFIX = "release:"


class CaseSetError(ValueError):
    """A case set that cannot be built or found as asked."""


class UnusableCase(CaseSetError):
    """A well-formed record with no patient information to start an episode from (a MedQA knowledge question)."""


def snapshot_item(case_id: object, stem: str, options: Mapping[str, str], answer_idx: str, initial_info: str,
                  facts: Iterable[str], mcq_id: int | None = None) -> dict:
    return {"case_id": str(case_id), "stem": stem.strip(), "options": dict(sorted(options.items())),
            "answer_idx": answer_idx, "initial_info": initial_info.strip(),
            "facts": [clean_fact(f) for f in facts if clean_fact(f)], "mcq_id": mcq_id}


def item_from_mcq(mcq: MultipleChoiceCase, mode: str) -> dict:
    """Return a snapshot of a corpus case, seen through `mode`."""
    if mode == InitialInfo.ORIGINAL_POST:
        initial = mcq.original_post or (f"{mcq.thread.post.title}\n\n{mcq.thread.post.body}" if mcq.thread else "")
    else:  # RECORD and FIRST_SENTENCE: the importer stores MedQA's first sentence as initial_info
        initial = mcq.initial_info
    return snapshot_item(mcq.case_id, mcq.stem, mcq.options, mcq.answer_idx, initial, mcq.atomic_facts, mcq.pk)


def item_from_record(record: dict, mode: str | None) -> tuple[dict, str]:
    """Return (snapshot, mode) of a MediQ-format record: MedQA when `context` is a list, else AskDocs.

    Raise CaseSetError naming the problem when the record does not have the format's fields.
    """
    medqa = isinstance(record.get("context"), list)
    problems = (CHECK_MEDQA if medqa else CHECK_ASKDOCS)(record) or check_options(record)
    if problems:
        raise CaseSetError("; ".join(f"{p.field}: {p.reason}" for p in problems[:3]))
    if medqa:
        mode = mode or InitialInfo.FIRST_SENTENCE
        context = record["context"]
        initial = (context[0] if context else "") if mode == InitialInfo.FIRST_SENTENCE else record.get(
            "initial_info") or ""
    else:
        mode = mode or InitialInfo.ORIGINAL_POST
        post = record.get("original_post") or (record.get("context") or "")
        initial = post if mode == InitialInfo.ORIGINAL_POST else record.get("initial_info") or ""
    if not initial.strip():
        raise UnusableCase(f"no initial information for mode {mode}")
    source = MultipleChoiceCase.Source.MEDQA if medqa else MultipleChoiceCase.Source.ASKDOCS
    mcq_id = MultipleChoiceCase.objects.filter(source=source, case_id=str(record["id"])).values_list(
        "pk", flat=True).first()
    item = snapshot_item(record["id"], record["question"], record["options"], record["answer_idx"], initial,
                         record["atomic_facts"], mcq_id)
    return item, mode


def items_hash(items: list[dict]) -> str:
    payload = [{k: v for k, v in item.items() if k != "mcq_id"} for item in items]
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def store_snapshot(name: str, source: str, mode: str, items: list[dict], user: User | None = None, **fields: Any
                   ) -> CaseSet:
    """Return the snapshot of `items` under `name`, creating it when these exact cases are new."""
    if not items:
        raise CaseSetError(f"Case set {name!r} would hold no cases.")
    seen = set()
    for item in items:
        if item["case_id"] in seen:
            raise CaseSetError(f"Case id {item['case_id']!r} appears twice.")
        seen.add(item["case_id"])
    digest = items_hash(items)
    with transaction.atomic():
        found = CaseSet.objects.filter(name=name, sha256=digest).first()
        if found:
            return found
        case_set = CaseSet.objects.create(name=name, source=source, initial_info=mode, sha256=digest,
                                          size=len(items), created_by=user, **fields)
        CaseSetItem.objects.bulk_create([
            CaseSetItem(case_set=case_set, position=position, case_id=item["case_id"], mcq_id=item["mcq_id"],
                        stem=item["stem"], options=item["options"], answer_idx=item["answer_idx"],
                        initial_info=item["initial_info"], facts=item["facts"])
            for position, item in enumerate(items)
        ], batch_size=500)
    return case_set


def corpus_case_set(name: str, user: User | None = None) -> CaseSet:
    source, mode = BUILT_IN[name]
    cases = MultipleChoiceCase.objects.filter(source=source).select_related("thread__post").order_by("case_id")
    items = [item_from_mcq(mcq, mode) for mcq in cases]
    if not items:
        raise CaseSetError(f"The corpus holds no {source} MCQ cases; import the MediQ file first (Import page or "
                           f"`manage.py import_corpus`), or give a file as the case set.")
    return store_snapshot(name, source, mode, items, user,
                          description=f"All {len(items)} {source} MCQ cases of the corpus; initial info: {mode}.")


def file_case_set(path: str | Path, mode: str | None = None, name: str = "", user: User | None = None) -> CaseSet:
    """Import a MediQ-format JSONL file (AskDocs MCQ or MedQA convo) as a case set. A malformed record stops the
    import; a record without patient information is left out and named in the description."""
    path = Path(path)
    items, modes, skipped = [], set(), []
    with path.open("rb") as stream:
        for line_number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                item, used = item_from_record(orjson.loads(line), mode)
            except orjson.JSONDecodeError as exc:
                raise CaseSetError(f"{path.name} line {line_number}: invalid JSON ({exc})") from None
            except UnusableCase:
                skipped.append(line_number)
                continue
            except CaseSetError as exc:
                raise CaseSetError(f"{path.name} line {line_number}: {exc}") from None
            items.append(item)
            modes.add(used)
    used_mode = modes.pop() if len(modes) == 1 else (mode or InitialInfo.RECORD)
    description = f"{len(items)} cases imported from {path.name}; initial info: {used_mode}."
    if skipped:
        lines = ", ".join(map(str, skipped[:20])) + (" ..." if len(skipped) > 20 else "")
        description += f" {len(skipped)} record(s) without patient information left out (lines {lines})."
    return store_snapshot(name or path.stem, CaseSetSource.FILE, used_mode, items, user, file_name=path.name,
                          description=description)


def release_case_set(release_name: str, user: User | None = None) -> CaseSet:
    """Snapshot a gold-labelled benchmark release (its records carry the fixed chief complaints)."""
    from annotation.models import BenchmarkRelease

    release = BenchmarkRelease.objects.filter(name=release_name).first()
    if release is None:
        raise CaseSetError(f"No benchmark release named {release_name!r}.")
    items = [item_from_record(item.record, InitialInfo.RECORD)[0] for item in release.items.order_by("position")]
    return store_snapshot(f"{RELEASE_PREFIX}{release_name}", CaseSetSource.RELEASE, InitialInfo.RECORD, items, user,
                          description=f"Gold release {release_name} ({release.sha256[:12]}).")


def get_case_set(spec: str, user: User | None = None) -> CaseSet:
    """Return the case set `spec` names: a built-in corpus set, release:NAME, a JSONL file, or a stored name."""
    spec = (spec or "").strip()
    if spec in BUILT_IN:
        return corpus_case_set(spec, user)
    if spec.startswith(RELEASE_PREFIX):
        return release_case_set(spec.removeprefix(RELEASE_PREFIX), user)
    if spec.endswith((".jsonl", ".json")) or "/" in spec:
        if not Path(spec).is_file():
            raise CaseSetError(f"No such case file: {spec}")
        return file_case_set(spec, user=user)
    found = CaseSet.objects.filter(name=spec).order_by("-created_at", "-pk").first()
    if found is None:
        raise CaseSetError(f"No case set named {spec!r}; built-in: {', '.join(BUILT_IN)}, release:NAME, or a file.")
    return found
