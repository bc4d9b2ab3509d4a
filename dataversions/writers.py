"""Write a version's export to files, one split at a time in bounded memory, byte-identical on every run."""

import hashlib
import json
import os
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings

from .card import dataset_card
from .formats import ExportFormat
from .models import DatasetVersion
from .selection import SPLITS

if TYPE_CHECKING:
    from datasets import Features

BATCH = 5000
ZIP_TIME = (2020, 1, 1, 0, 0, 0)  # fixed, so the same export zips to the same bytes


def export_folder(version: DatasetVersion, fmt: ExportFormat, files: str) -> Path:
    return Path(settings.VAR_DIR) / "exports" / version.dataset.name / f"v{version.number}" / f"{fmt.name}-{files}"


def relative_to_var(path: Path) -> str:
    return str(Path(path).relative_to(settings.VAR_DIR))


def version_splits(version: DatasetVersion) -> list[str]:
    present = set(version.counts.get("split", {}))
    return [split for split in SPLITS if split in present]


def split_records(version: DatasetVersion, split: str, fmt: ExportFormat) -> Iterator[dict]:
    rows = version.rows.filter(split=split).order_by("position").values_list("data", flat=True)
    for data in rows.iterator(chunk_size=BATCH):
        yield fmt.record(data)


def batches(records: Iterator[dict]) -> Iterator[list[dict]]:
    batch = []
    for record in records:
        batch.append(record)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def write_jsonl(path: Path, records: Iterator[dict], fmt: ExportFormat) -> int:
    n = 0
    with open(path, "wb") as handle:
        for record in records:
            handle.write(orjson.dumps(record) + b"\n")
            n += 1
    return n


def write_parquet(path: Path, records: Iterator[dict], fmt: ExportFormat) -> int:
    n = 0
    assert fmt.schema is not None  # only formats with a schema are written as Parquet
    with pq.ParquetWriter(path, fmt.schema, compression="zstd") as writer:
        for batch in batches(records):
            writer.write_table(pa.Table.from_pylist(batch, schema=fmt.schema))
            n += len(batch)
        if n == 0:
            writer.write_table(fmt.schema.empty_table())
    return n


def write_arrow_stream(path: Path, records: Iterator[dict], fmt: ExportFormat) -> int:
    """Write the Arrow IPC stream that `datasets` memory-maps, with its features in the schema metadata."""
    schema = hf_schema(fmt)
    n = 0
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
        for batch in batches(records):
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            n += len(batch)
    return n


def hf_features(fmt: ExportFormat) -> "Features":
    """Return the `datasets` features of a format's schema.

    Imported here, not at the top: only the hf files need the library, and it (with pandas) adds about 80 MB to
    every process that loads this module: the web server, each worker, each JSONL or Parquet export.
    """
    from datasets import Features

    return Features.from_arrow_schema(fmt.schema)


def hf_schema(fmt: ExportFormat) -> pa.Schema:
    features = hf_features(fmt)
    assert fmt.schema is not None  # only formats with a schema are written as hf files
    return fmt.schema.with_metadata({"huggingface": json.dumps({"info": {"features": features.to_dict()}})})


WRITERS = {"jsonl": (write_jsonl, ".jsonl"), "parquet": (write_parquet, ".parquet")}


def split_paths(folder: Path, split: str, files: str) -> list[Path]:
    if files == "hf":
        return [folder / split / "data-00000-of-00001.arrow", folder / split / "dataset_info.json",
                folder / split / "state.json"]
    return [folder / f"{split}{WRITERS[files][1]}"]


def write_split(version: DatasetVersion, fmt: ExportFormat, files: str, folder: Path, split: str) -> dict:
    """Write one split (to a temporary name, then renamed into place) and return its manifest entries."""
    records = split_records(version, split, fmt)
    target = split_paths(folder, split, files)[0]
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    if files == "hf":
        rows = write_arrow_stream(partial, records, fmt)
        os.replace(partial, target)
        write_hf_split_metadata(target.parent, fmt, version, target)
    else:
        writer, _ = WRITERS[files]
        rows = writer(partial, records, fmt)
        os.replace(partial, target)
    return {relative_to_folder(path, folder): {"bytes": path.stat().st_size, "sha256": sha256_of(path),
                                               "rows": rows if path == target else None}
            for path in split_paths(folder, split, files)}


def relative_to_folder(path: Path, folder: Path) -> str:
    return str(path.relative_to(folder))


def write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def write_hf_split_metadata(split_dir: Path, fmt: ExportFormat, version: DatasetVersion, arrow: Path) -> None:
    write_json(split_dir / "dataset_info.json", {
        "citation": "", "description": f"{version} ({fmt.name})", "homepage": "", "license": "cc-by-4.0",
        "features": hf_features(fmt).to_dict()})
    write_json(split_dir / "state.json", {
        "_data_files": [{"filename": arrow.name}], "_fingerprint": sha256_of(arrow)[:16], "_format_columns": None,
        "_format_kwargs": {}, "_format_type": None, "_output_all_columns": False, "_split": split_dir.name})


def write_folder_files(version: DatasetVersion, fmt: ExportFormat, files: str, folder: Path, manifest: dict) -> dict:
    """Write the files that describe the whole export (card, split list) and return the full manifest."""
    splits = version_splits(version)
    if files == "hf":
        write_json(folder / "dataset_dict.json", {"splits": splits})
    (folder / "README.md").write_text(dataset_card(version, fmt, files), encoding="utf-8")
    extra = ["README.md"] + (["dataset_dict.json"] if files == "hf" else [])
    for name in extra:
        path = folder / name
        manifest[name] = {"bytes": path.stat().st_size, "sha256": sha256_of(path), "rows": None}
    return dict(sorted(manifest.items()))


def write_export(version: DatasetVersion, fmt: ExportFormat, files: str, done: dict | None = None,
                 on_split: Callable[[str, dict], None] | None = None) -> tuple[Path, dict]:
    """Write every split not in `done` (split → manifest entries of a finished earlier attempt); return the folder
    and the manifest."""
    folder = export_folder(version, fmt, files)
    folder.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {}
    for split in version_splits(version):
        entries = (done or {}).get(split)
        if not entries or not all((folder / name).is_file() and sha256_of(folder / name) == entry["sha256"]
                                  for name, entry in entries.items()):
            entries = write_split(version, fmt, files, folder, split)
            if on_split:
                on_split(split, entries)
        manifest.update(entries)
    return folder, write_folder_files(version, fmt, files, folder, manifest)


def ensure_zip(folder: Path, names: list[str]) -> Path:
    """Return a zip of the named files beside the folder, written once with fixed timestamps (same bytes each time)."""
    path = folder.with_name(folder.name + ".zip")
    if path.is_file():
        return path
    partial = path.with_name(path.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(names):
            info = zipfile.ZipInfo(f"{folder.name}/{name}", date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(folder / name, "rb") as source, archive.open(info, "w") as target:
                while chunk := source.read(1 << 20):
                    target.write(chunk)
    os.replace(partial, path)
    return path
