"""Export formats: how a frozen canonical row becomes a record of each format, and the Arrow schema of each."""

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

from corpus.rendering import DOCTOR_SYSTEM_PROMPT, render_text

from .building import JUDGMENT_COLUMNS
from .models import DatasetKind

FILE_TYPES = ("jsonl", "parquet", "hf")
MESSAGES = pa.list_(pa.struct([("content", pa.string()), ("role", pa.string())]))
PAIR_METADATA = [("id", pa.string()), ("attribute", pa.string()), ("pair_type", pa.string()), ("qid", pa.string()),
                 ("split", pa.string()), ("source_job", pa.int64())]


class FormatError(ValueError):
    """A format, file type or kind combination that does not exist."""


def assistant(text: str) -> list[dict]:
    return [{"role": "assistant", "content": text}]


def pair_metadata(row: dict) -> dict:
    return {"id": row["id"], "attribute": row["attribute"], "pair_type": row["pair_type"], "qid": row["qid"],
            "split": row["split"], "source_job": row.get("source_job")}


def trl_standard(row: dict) -> dict:
    return {"prompt": row.get("prompt_text") or render_text(row["prompt"]), "chosen": row["chosen"],
            "rejected": row["rejected"], **pair_metadata(row)}


def trl_conversational(row: dict) -> dict:
    return {"prompt": row["prompt"], "chosen": assistant(row["chosen"]), "rejected": assistant(row["rejected"]),
            **pair_metadata(row)}


def sft_messages(row: dict) -> dict:
    return {"messages": [*row["prompt"], *assistant(row["completion"])], "id": row["id"], "qid": row["qid"],
            "split": row["split"], "source": row["source"]}


def without_system(messages: list[dict]) -> list[dict]:
    return [message for message in messages if message["role"] != "system"]


def authors_preference(row: dict) -> dict:
    """The authors' JSONL layout (method.md §3.5), with the thread's earlier turns kept in `context`."""
    return {"id": row["id"], "system": [{"role": "system", "content": DOCTOR_SYSTEM_PROMPT}],
            "context": without_system(row["prompt"]), "chosen": assistant(row["chosen"]),
            "rejected": assistant(row["rejected"])}


def authors_sft(row: dict) -> dict:
    """The authors' SFT layout (method.md §2.5), with `system` a string list as they serialized it."""
    context = without_system(row["prompt"])
    return {"id": row["id"], "system": [DOCTOR_SYSTEM_PROMPT], "context": context,
            "question": assistant(row["completion"]), "messages": [*context, *assistant(row["completion"])]}


def identity(row: dict) -> dict:
    return row


def mediq_record(row: dict) -> dict:
    return {key: value for key, value in row.items() if key != "split"}


@dataclass(frozen=True)
class ExportFormat:
    name: str
    kind: str
    record: Callable[[dict], dict]
    schema: pa.Schema | None  # None: JSONL only (free-form nested values)
    description: str


FORMATS = {f.name: f for f in (
    ExportFormat("trl", DatasetKind.PREFERENCE, trl_standard, pa.schema(
        [("prompt", pa.string()), ("chosen", pa.string()), ("rejected", pa.string()), *PAIR_METADATA]),
        "TRL preference, standard: prompt, chosen and rejected strings."),
    ExportFormat("trl-conversational", DatasetKind.PREFERENCE, trl_conversational, pa.schema(
        [("prompt", MESSAGES), ("chosen", MESSAGES), ("rejected", MESSAGES), *PAIR_METADATA]),
        "TRL preference, conversational: message lists."),
    ExportFormat("authors", DatasetKind.PREFERENCE, authors_preference, pa.schema(
        [("id", pa.string()), ("system", MESSAGES), ("context", MESSAGES), ("chosen", MESSAGES),
         ("rejected", MESSAGES)]), "The authors' preference JSONL layout (id, system, context, chosen, rejected)."),
    ExportFormat("sft", DatasetKind.SFT, sft_messages, pa.schema(
        [("messages", MESSAGES), ("id", pa.string()), ("qid", pa.string()), ("split", pa.string()),
         ("source", pa.string())]), "TRL SFT: messages."),
    ExportFormat("authors-sft", DatasetKind.SFT, authors_sft, pa.schema(
        [("id", pa.string()), ("system", pa.list_(pa.string())), ("context", MESSAGES), ("question", MESSAGES),
         ("messages", MESSAGES)]), "The authors' SFT layout (id, system, context, question, messages)."),
    ExportFormat("judgments", DatasetKind.JUDGMENTS, identity, pa.schema(
        [(c, pa.int64() if c == "time_ms" else pa.bool_() if c in ("tie", "retracted", "is_gold")
          else pa.list_(pa.string()) if c == "reasons" else pa.string()) for c in JUDGMENT_COLUMNS]),
        "Every raw judgment and adjudication: annotator pseudonym, shown order, choice, tie, rationale, time."),
    ExportFormat("mediq", DatasetKind.INTERACTIVE, mediq_record, None,
                 "MediQ interactive JSONL: question, options, answer_idx, context, atomic_facts, initial_info."),
)}
FORMAT_ALIASES: dict[str, dict[str, str]] = {"authors": {DatasetKind.SFT: "authors-sft"}}


def get_format(name: str, kind: str, files: str) -> ExportFormat:
    """Return the format `name` for a version of `kind` written as `files`; raise FormatError otherwise."""
    name = FORMAT_ALIASES.get(name, {}).get(kind, name)
    if name not in FORMATS:
        raise FormatError(f"Unknown format {name!r}; known: {', '.join(sorted(FORMATS))}.")
    fmt = FORMATS[name]
    if fmt.kind != kind:
        usable = ", ".join(f.name for f in FORMATS.values() if f.kind == kind)
        raise FormatError(f"A {kind} version exports as {usable}, not {name}.")
    if files not in FILE_TYPES:
        raise FormatError(f"Unknown file type {files!r}; known: {', '.join(FILE_TYPES)}.")
    if fmt.schema is None and files != "jsonl":
        raise FormatError(f"The {name} format is written as JSONL only.")
    return fmt
