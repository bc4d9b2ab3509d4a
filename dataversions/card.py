"""The dataset card: README.md with the Hugging Face Hub's YAML header, written into every export."""

from datetime import UTC, datetime
from typing import Any

import yaml

from corpus.rendering import get_rendering

from .formats import ExportFormat
from .models import DatasetKind, DatasetVersion, Provenance
from .selection import SPLITS

HF_SPLIT_FILES = {"jsonl": "{split}.jsonl", "parquet": "{split}.parquet", "hf": "{split}/*.arrow"}
TASKS: dict[str, list[str]] = {DatasetKind.PREFERENCE: ["text-generation"], DatasetKind.SFT: ["text-generation"],
         DatasetKind.JUDGMENTS: ["text-classification"], DatasetKind.INTERACTIVE: ["question-answering"]}
LIMITATIONS = [
    "Rewrites are written by an LLM and checked by an LLM judge; a minority of pairs may not move the attribute the "
    "intended way even when marked accepted.",
    "The posts come from one public forum (r/AskDocs), in English, by self-selected patients; they are not a clinical "
    "population.",
    "Doctors' questions are as asked on the forum, by users with a medical flair that the forum checks loosely.",
    "Not for clinical use: the data teaches a model which questions to ask, not what to conclude.",
]


def size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return label
    return "n>1M"


def split_counts(version: DatasetVersion) -> dict:
    """Return rows per split in train/validation/test order (PostgreSQL's jsonb keeps no key order)."""
    splits = version.counts.get("split", {})
    return {name: splits[name] for name in SPLITS if name in splits}


def card_header(version: DatasetVersion, fmt: ExportFormat | None, files: str | None) -> dict:
    splits = split_counts(version)
    header: dict[str, Any] = {
        "license": "cc-by-4.0", "language": ["en"], "task_categories": TASKS[version.kind],
        "tags": ["medical", "clinical-questions", "alfa", version.kind], "pretty_name": str(version),
        "size_categories": [size_category(version.row_count)],
        "dataset_info": {"splits": [{"name": name, "num_examples": n} for name, n in splits.items()]},
    }
    if fmt and files:
        pattern = HF_SPLIT_FILES[files]
        header["configs"] = [{"config_name": "default", "data_files": [
            {"split": name, "path": pattern.format(split=name)} for name in splits]}]
    return header


def table(counts: dict, label: str) -> list[str]:
    if not counts:
        return []
    lines = [f"| {label} | rows |", "| --- | ---: |"]
    lines += [f"| {key} | {value:,} |" for key, value in counts.items()]
    return [*lines, ""]


def date_range(version: DatasetVersion) -> str:
    span = version.counts.get("created_utc")
    if not span:
        return "not recorded"
    first, last = (datetime.fromtimestamp(value, tz=UTC).date().isoformat() for value in span)
    return f"{first} to {last} (posts' creation dates)"


def agreement_lines(version: DatasetVersion) -> list[str]:
    agreement = version.counts.get("agreement") or {}
    if not agreement:
        return ["No pair of this version was judged by experts."]
    lines = ["| attribute | expert-judged pairs | majority agrees with the synthetic direction |",
             "| --- | ---: | ---: |"]
    for attribute, entry in agreement.items():
        share = entry["agrees"] / entry["judged"] if entry["judged"] else 0
        lines.append(f"| {attribute} | {entry['judged']:,} | {entry['agrees']:,} ({share:.0%}) |")
    return lines


def sources_lines(version: DatasetVersion) -> list[str]:
    if version.provenance == Provenance.EXTERNAL:
        source = version.lineage.get("source", {})
        return [f"Imported from `{source.get('name', '?')}` (sha256 `{source.get('sha256', '?')}`), "
                f"{source.get('layout', '')} layout; its licence is the original publisher's."]
    lines = ["Real follow-up questions and posts from r/AskDocs (the published ALFA/MediQ-AskDocs records, "
             "CC BY 4.0), with LLM rewrites made on this platform."]
    if jobs := list(version.source_jobs.values_list("pk", "kind")):
        lines.append("Source jobs: " + ", ".join(f"#{pk} ({kind})" for pk, kind in jobs) + ".")
    if templates := list(version.templates.all()):
        lines.append("Prompt templates: " + ", ".join(str(t) for t in templates) + ".")
    if campaigns := list(version.campaigns.values_list("name", flat=True)):
        lines.append("Annotation campaigns: " + ", ".join(campaigns) + ".")
    return lines


def dataset_card(version: DatasetVersion, fmt: ExportFormat | None = None, files: str | None = None) -> str:
    """Return the card of a version (with the data file layout of one export when a format is given)."""
    rendering = get_rendering(version.rendering)
    body = [
        f"# {version}", "", version.dataset.description or f"{version.dataset.get_kind_display()} for ALFA.", "",
        f"- Kind: {version.dataset.get_kind_display()}; {version.row_count:,} rows.",
        f"- Content hash (sha256 of the canonical rows): `{version.content_hash}`.",
        f"- Created {version.created_at:%Y-%m-%d %H:%M} UTC; seed {version.seed}.",
        f"- Filter: `{_compact(version.selection)}`." if version.selection else "- Filter: none (imported).",
        *([f"- Format: {fmt.name} as {files} — {fmt.description}"] if fmt else []), "",
        "## Sources and licence", "", *sources_lines(version), "",
        f"Date range: {date_range(version)}.", "",
        "## Pseudonymization", "",
        "Forum usernames were replaced at import by keyed HMAC pseudonyms, and names mentioned in the text were "
        "scrubbed; annotators appear as keyed pseudonyms, never as accounts.", "",
        "## Counts", "", *table(split_counts(version), "split"),
        *table(version.counts.get("attribute", {}), "attribute"),
        *table(version.counts.get("pair_type", {}), "pair type"),
        "## Expert agreement per attribute", "", *agreement_lines(version), "",
        "## Prompt rendering", "", f"`{rendering.key}`: {rendering.description}", "",
        *([f"System prompt: \"{rendering.system_prompt}\"", ""] if rendering.system_prompt else []),
        "## Known limitations", "", *[f"- {line}" for line in LIMITATIONS], "",
    ]
    header = yaml.safe_dump(card_header(version, fmt, files), sort_keys=False, allow_unicode=True)
    return f"---\n{header}---\n\n" + "\n".join(body)


def _compact(selection: dict) -> str:
    return ", ".join(f"{key}={value}" for key, value in selection.items() if value not in ((), [], "", None))
