"""The paper's comparisons (method.md §4.4) as one-click starting points of the new-run form."""

from dataclasses import dataclass, field
from typing import cast

from dataversions.models import DatasetKind, DatasetVersion, VersionStatus

from .models import TrainedModel, TrainingMethod, TrainingRun


@dataclass(frozen=True)
class Preset:
    key: str
    title: str
    method: str
    selection: dict = field(default_factory=dict)  # what the dataset version's saved filter must say
    one_attribute: bool = False
    from_sft_model: bool = False  # the authors started DPO from their SFT model

    @property
    def kind(self) -> str:
        return DatasetKind.SFT if self.method == TrainingMethod.SFT else DatasetKind.PREFERENCE


PRESETS = {p.key: p for p in (
    Preset("sft-real", "SFT on the real doctors' questions", TrainingMethod.SFT, {"sft_source": "real"}),
    Preset("sft-synthetic", "Synthetic SFT (originals plus enhanced rewrites)", TrainingMethod.SFT,
           {"sft_source": "synthetic"}),
    Preset("dpo-coarse", "Coarse-pair DPO (the overall attribute)", TrainingMethod.DPO, {"granularity": "coarse"},
           from_sft_model=True),
    Preset("dpo-per-attribute", "Fine-grained DPO on one attribute", TrainingMethod.DPO, {"granularity": "fine"},
           one_attribute=True, from_sft_model=True),
    Preset("dpo-data-mixing", "Data mixing: DPO on every attribute's pairs", TrainingMethod.DPO,
           {"granularity": "fine"}, from_sft_model=True),
    Preset("rm-per-attribute", "Reward model on one attribute", TrainingMethod.RM, {"granularity": "fine"},
           one_attribute=True),
)}


def matching_version(preset: Preset) -> DatasetVersion | None:
    """Return the newest ready version of the preset's kind whose filter says what the preset needs."""
    versions = DatasetVersion.objects.filter(status=VersionStatus.READY, dataset__kind=preset.kind).order_by(
        "-created_at", "-pk")
    for version in versions[:200]:
        if all(version.selection.get(key) == value for key, value in preset.selection.items()):
            return version
    return None


def preset_initial(preset: Preset) -> dict:
    """Return the new-run form's initial values for a preset: its version, base model and attribute choice."""
    initial: dict = {}
    if version := matching_version(preset):
        initial["dataset_version"] = version.pk
        attributes = sorted(version.counts.get("attribute", {}))
        if preset.one_attribute and attributes:
            initial["attributes"] = attributes[:1]
    if preset.from_sft_model and (sft := TrainedModel.objects.filter(run__method=TrainingMethod.SFT).first()):
        initial["base_model"] = sft.name
    return initial


def fusion_initial() -> dict:
    """Return the merge form's initial values for policy fusion: the newest per-attribute DPO model of each
    attribute, from the newest dataset version that has such models."""
    per_attribute = [m for m in TrainedModel.objects.filter(run__method=TrainingMethod.DPO).select_related(
        "run", "dataset_version__dataset").order_by("-created_at", "-pk")
        if m.run is not None and len(m.run.attributes) == 1]
    if not per_attribute:
        return {}
    version = per_attribute[0].dataset_version
    assert version is not None  # a run's model records the version it trained on
    newest: dict[str, TrainedModel] = {}
    for model in per_attribute:
        if model.dataset_version_id == version.pk:
            newest.setdefault(cast(TrainingRun, model.run).attributes[0], model)  # a DPO run's model
    return {"models": ", ".join(newest[a].name for a in sorted(newest)),
            "name": f"{version.dataset.name}-v{version.number}-fusion"[:64]}
