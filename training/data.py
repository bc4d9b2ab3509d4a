"""A run's training data: the version's export (written once, then reused), filtered to the run's selection."""

from pathlib import Path
from typing import cast

import datasets
from django.conf import settings

from dataversions.actions import do_export_version
from dataversions.models import DatasetExport, ExportStatus
from jobs.runner import run_job_here

from .configs import SFTRunConfig
from .models import TrainingMethod, TrainingRun

# DPO and reward models read conversational pairs, so each base model's own chat template renders them; SFT reads
# message lists. Both come from the version's rendering (corpus.rendering), recorded on the version.
EXPORT_FORMATS: dict[str, str] = {TrainingMethod.DPO: "trl-conversational", TrainingMethod.RM: "trl-conversational",
                  TrainingMethod.SFT: "sft"}
METADATA_COLUMNS = ("id", "attribute", "pair_type", "qid", "split", "source_job", "source")


class DataError(ValueError):
    """A run whose selection leaves nothing to train on."""


def ensure_export(run: TrainingRun) -> DatasetExport:
    """Return the version's finished export in the run's format, writing it here if no worker has."""
    export = do_export_version(run.dataset_version, EXPORT_FORMATS[run.method], "hf", run.created_by)
    if export.status != ExportStatus.DONE and export.job is not None:
        run_job_here(export.job)
        export.refresh_from_db()
    if export.status != ExportStatus.DONE:
        raise DataError(f"The export of {run.dataset_version} is {export.status}: {export.error}")
    return export


def select_rows(split: datasets.Dataset, attributes: list[str], pair_types: list[str]) -> datasets.Dataset:
    """Keep the rows of the chosen attributes and pair types (empty: all), as the authors' --data_dimension did."""
    wanted_attributes, wanted_types = set(attributes), set(pair_types)
    if not wanted_attributes and not wanted_types:
        return split
    return split.filter(lambda row: (not wanted_attributes or row["attribute"] in wanted_attributes)
                        and (not wanted_types or row["pair_type"] in wanted_types))


def as_prompt_completion(row: dict) -> dict:
    """Split an SFT conversation into its prompt and the doctor's final question, so only the question is learnt."""
    return {"prompt": row["messages"][:-1], "completion": row["messages"][-1:]}


def prepare(split: datasets.Dataset, run: TrainingRun) -> datasets.Dataset:
    if run.method != TrainingMethod.SFT:
        split = select_rows(split, run.attributes, run.pair_types)
    elif cast(SFTRunConfig, run.options).completion_only_loss:  # an SFT run's options
        split = split.map(as_prompt_completion, remove_columns=["messages"])
    return split.remove_columns([c for c in METADATA_COLUMNS if c in split.column_names])


def load_run_data(run: TrainingRun) -> tuple[datasets.Dataset, datasets.Dataset | None, DatasetExport]:
    """Return the run's (train, validation or None) splits and the export they came from."""
    export = ensure_export(run)
    splits = datasets.load_from_disk(str(Path(settings.VAR_DIR) / export.folder))
    if "train" not in splits:
        raise DataError(f"{run.dataset_version} has no train split.")
    train = prepare(splits["train"], run)
    if len(train) == 0:
        raise DataError(f"No training rows in {run.dataset_version} for attributes {run.attributes or 'all'} "
                        f"and pair types {run.pair_types or 'all'}.")
    validation = prepare(splits["validation"], run) if "validation" in splits else None
    return train, (validation if validation is not None and len(validation) else None), export
