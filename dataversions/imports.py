"""Import an external preference dataset (TRL standard or conversational, or the authors' layout) as a version."""

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from django.db import transaction

from .actions import DatasetError, do_create_external_version
from .building import seal_version, write_rows
from .models import DatasetKind, DatasetVersion
from .selection import PAIR_TYPES, SPLITS

if TYPE_CHECKING:
    from django.contrib.auth.models import User

SPLIT_NAMES = {"train": "train", "validation": "validation", "valid": "validation", "eval": "validation",
               "dev": "validation", "test": "test"}
LAYOUT_HELP = ("a TRL preference dataset needs the columns prompt, chosen and rejected (strings, or message lists), "
               "or the authors' layout id, context, chosen and rejected")


def source_files(path: Path) -> list[tuple[str, Path]]:
    """Return (split, file) pairs: a folder of split files, a `datasets` folder, or one file (split 'train')."""
    if path.is_file():
        return [("", path)]
    if not path.is_dir():
        raise DatasetError(f"{path} is neither a file nor a folder.")
    if (path / "dataset_dict.json").is_file() or (path / "state.json").is_file():
        return [("", path)]
    found = [(SPLIT_NAMES[f.stem.lower()], f) for f in sorted(path.iterdir())
             if f.suffix in (".jsonl", ".parquet") and f.stem.lower() in SPLIT_NAMES]
    if not found:
        raise DatasetError(f"{path} holds no train/validation/test .jsonl or .parquet file and is no datasets folder.")
    return found


def read_records(split: str, path: Path) -> Iterator[tuple[str, int, dict]]:
    """Yield (split, line or row number, record) from a JSONL, Parquet or `datasets` source."""
    if path.is_dir():
        import datasets

        loaded = datasets.load_from_disk(str(path))
        parts = loaded.items() if isinstance(loaded, datasets.DatasetDict) else [("train", loaded)]
        for name, part in parts:
            for n, record in enumerate(part, start=1):
                yield SPLIT_NAMES.get(name, name), n, record
    elif path.suffix == ".parquet":
        import pyarrow.parquet as pq

        n = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=5000):
            for record in batch.to_pylist():
                n += 1
                yield split, n, record
    else:
        with open(path, "rb") as handle:
            for n, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raise DatasetError(f"{path.name} line {n}: not JSON ({exc}).") from exc
                if not isinstance(record, dict):
                    raise DatasetError(f"{path.name} line {n}: a record must be a JSON object.")
                yield split, n, record


def messages_of(value: Any, where: str) -> list[dict]:
    if isinstance(value, str):
        return [{"role": "assistant", "content": value}]
    if isinstance(value, list) and all(isinstance(m, dict) and {"role", "content"} <= set(m) for m in value):
        return [{"role": str(m["role"]), "content": str(m["content"])} for m in value]
    raise DatasetError(f"{where}: must be a string or a list of {{role, content}} messages.")


def completion_text(value: Any, where: str) -> str:
    messages = messages_of(value, where)
    if not messages:
        raise DatasetError(f"{where}: is empty.")
    return messages[-1]["content"]


def parse_pair_id(row_id: str) -> tuple[str, str]:
    """Return (attribute, pair_type) from an authors' id `<qid>_<attribute>_<winner>_<loser>` where it has them."""
    for pair_type in PAIR_TYPES:
        winner, loser = pair_type.split("_")
        aliases = {"enhanced": "more_future", "corrupted": "less", "original": "original"}
        suffix = f"_{aliases[winner]}_{aliases[loser]}"
        if row_id.endswith(suffix):
            head = row_id[: -len(suffix)]
            return head.rsplit("_", 1)[-1], pair_type
    return "", ""


def canonical_row(split: str, n: int, record: dict, name: str) -> dict:
    where = f"{name} row {n}"
    if not {"chosen", "rejected"} <= set(record) or not ({"prompt"} & set(record) or {"context"} & set(record)):
        raise DatasetError(f"{where}: the columns are {', '.join(sorted(record)) or 'none'}; {LAYOUT_HELP}.")
    split = SPLIT_NAMES.get(str(record.get("split") or split or "train"), "")
    if split not in SPLITS:
        raise DatasetError(f"{where}: unknown split {record.get('split')!r}.")
    row_id = str(record.get("id") or f"row-{n}")
    attribute, pair_type = parse_pair_id(row_id)
    prompt = record.get("prompt", record.get("context"))
    row = {"id": row_id, "qid": str(record.get("qid") or ""), "split": split,
           "attribute": str(record.get("attribute") or attribute), "pair_type": str(record.get("pair_type") or
                                                                                    pair_type),
           "prompt": messages_of(prompt, f"{where} prompt") if not isinstance(prompt, str) else
           [{"role": "user", "content": prompt}],
           "chosen": completion_text(record["chosen"], f"{where} chosen"),
           "rejected": completion_text(record["rejected"], f"{where} rejected"), "verdict": "", "source_job": None}
    if isinstance(prompt, str):
        row["prompt_text"] = prompt  # a standard-format prompt exports back unchanged
    return row


def file_digest(files: list[tuple[str, Path]]) -> str:
    digest = hashlib.sha256()
    for _, path in files:
        for part in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if part.is_file():
                digest.update(part.read_bytes())
    return digest.hexdigest()


def do_import_dataset(path: str | Path, name: str, user: "User | None" = None) -> DatasetVersion:
    """Read every row (checking each), then store them as a new external version; on any error nothing is kept."""
    path = Path(path)
    files = source_files(path)
    by_split: dict[str, list[dict]] = {split: [] for split in SPLITS}
    layout = ""
    for split, file in files:
        for record_split, n, record in read_records(split, file):
            row = canonical_row(record_split, n, record, file.name)
            layout = layout or ("authors" if "context" in record else
                                "trl-standard" if "prompt_text" in row else "trl-conversational")
            by_split[row["split"]].append(row)
    if not any(by_split.values()):
        raise DatasetError(f"{path} holds no rows.")
    source = {"name": path.name, "sha256": file_digest(files), "layout": layout}
    with transaction.atomic():
        version = do_create_external_version(name, DatasetKind.PREFERENCE, user, source, rendering="external")
        counter = write_rows(version, (row for split in SPLITS for row in by_split[split]))
        seal_version(version, counter)
    return version
