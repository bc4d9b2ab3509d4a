"""The saved filter a dataset version is built from: the dataset_version job's options, checked before any write."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from annotation.models import BenchmarkRelease
from corpus.rendering import DEFAULT_RENDERING, RENDERINGS
from jobs.configs import ConfigError, JobConfig, register_config
from synthesis.models import Attribute, PairType

from .models import DatasetKind

SPLITS = ("train", "validation", "test")
PAIR_TYPES = ("enhanced_corrupted", "enhanced_original", "original_corrupted")
COARSE_ATTRIBUTE = "overall"
# "external" names prompts an import brought; a version built here always renders its own.
RENDERING_CHOICES = [(key, f"{key}: {r.description}") for key, r in RENDERINGS.items() if key != "external"]


class SelectionError(ConfigError):
    """A filter that cannot select rows: an unknown attribute, split, option or value."""


def known_attributes() -> set[str]:
    """Return the attribute keys a filter may name (the synthesis catalogue)."""
    return set(Attribute.objects.values_list("key", flat=True)) | {COARSE_ATTRIBUTE}


@register_config("dataset_version", form="dataversions.forms.VersionForm",
                 serializer="dataversions.serializers.SelectionSerializer", command="create_dataset")
@dataclass(frozen=True)
class Selection(JobConfig):
    """Which rows a dataset version holds; every option is recorded on the version."""

    kind: str = field(default=DatasetKind.PREFERENCE.value, metadata={
        "help": "What the rows are: preference pairs, SFT examples, expert judgments or interactive (MCQ benchmark) "
                "cases.",
        "choices": DatasetKind.choices})
    attributes: list[str] = field(default_factory=list, metadata={
        "help": "Attribute keys; empty: all of the granularity."})
    pair_types: list[str] = field(default_factory=list, metadata={
        "help": "Pair types; empty: all three.", "choices": [(value, PairType(value).label) for value in PAIR_TYPES]})
    granularity: str = field(default="fine", metadata={
        "help": "fine (the six attributes) or coarse (overall).", "choices": ["fine", "coarse"]})
    verdict: str = field(default="filtered", metadata={
        "help": "filtered (judge-accepted pairs only) or unfiltered.", "choices": ["filtered", "unfiltered"]})
    agreement: str = field(default="any", metadata={
        "help": "any; agrees: only pairs whose campaign majority agrees with the synthetic direction; "
                "judged: only pairs experts judged.", "choices": ["any", "agrees", "judged"]})
    campaigns: list[int] = field(default_factory=list, metadata={
        "help": "Campaign ids for agreement and judgments; empty: all.", "min": 1})
    splits: list[str] = field(default_factory=lambda: list(SPLITS), metadata={
        "help": "Corpus splits (post-level) to include.", "choices": SPLITS})
    sft_source: str = field(default="real", metadata={
        "help": "SFT: real (the doctors' questions) or synthetic (each original plus its enhanced rewrites).",
        "choices": ["real", "synthetic"]})
    case_source: str = field(default="askdocs", metadata={
        "help": "Interactive: askdocs, medqa or all.", "choices": ["askdocs", "medqa", "all"]})
    release: str = field(default="", metadata={
        "help": "Interactive: a benchmark release name (signed-off gold labels with reviewed initial information) "
                "instead of the imported cases."})
    rendering: str = field(default=DEFAULT_RENDERING, metadata={
        "help": "Prompt rendering (corpus.rendering).", "choices": RENDERING_CHOICES})
    seed: int = field(default=0, metadata={"help": "Seeds the row order within each split.", "min": 0,
                                           "max": 2**63 - 1})
    limit: int = field(default=0, metadata={
        "help": "At most this many rows (0: no limit), taken after ordering.", "min": 0})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Return the checked selection `data` spells; raise SelectionError naming every bad option."""
        try:
            return super().from_dict(data)
        except ConfigError as exc:
            raise SelectionError(exc.errors) from exc

    def check(self) -> None:
        """Refuse what only the database knows: attribute keys and release names; and an empty choice of splits."""
        if not self.splits:
            raise SelectionError("Select at least one split.", field="splits")
        known = known_attributes()
        if unknown := [a for a in self.attributes if a not in known]:
            raise SelectionError(f"Unknown attribute(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}.",
                                 field="attributes")
        if self.release and not BenchmarkRelease.objects.filter(name=self.release).exists():
            raise SelectionError(f"No benchmark release named {self.release!r}.", field="release")

    def effective_attributes(self, known_attributes: set[str]) -> list[str]:
        """Return the attributes rows may have: the chosen ones, else every one of the granularity."""
        if self.attributes:
            return list(self.attributes)
        if self.granularity == "coarse":
            return [COARSE_ATTRIBUTE]
        return sorted(a for a in known_attributes if a != COARSE_ATTRIBUTE)
