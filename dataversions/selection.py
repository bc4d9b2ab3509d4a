"""The saved filter a dataset version is built from, validated before anything is written."""

from dataclasses import asdict, dataclass, field, fields

from corpus.rendering import DEFAULT_RENDERING, get_rendering

from .models import DatasetKind

SPLITS = ("train", "validation", "test")
PAIR_TYPES = ("enhanced_corrupted", "enhanced_original", "original_corrupted")
COARSE_ATTRIBUTE = "overall"


class SelectionError(ValueError):
    """A filter that cannot select rows: an unknown attribute, split, option or value."""


@dataclass(frozen=True)
class Selection:
    """Which rows a version holds; every option is recorded on the version."""

    kind: str = field(default=DatasetKind.PREFERENCE, metadata={
        "help": "preference (pairs), sft, judgments (expert judgments) or interactive (the MCQ benchmark)."})
    attributes: tuple = field(default=(), metadata={"help": "Attribute keys; empty: all of the granularity."})
    pair_types: tuple = field(default=(), metadata={"help": "Pair types; empty: all three."})
    granularity: str = field(default="fine", metadata={"help": "fine (the six attributes) or coarse (overall)."})
    verdict: str = field(default="filtered", metadata={"help": "filtered (judge-accepted pairs only) or unfiltered."})
    agreement: str = field(default="any", metadata={
        "help": "any; agrees: only pairs whose campaign majority agrees with the synthetic direction; "
                "judged: only pairs experts judged."})
    campaigns: tuple = field(default=(), metadata={"help": "Campaign ids for agreement and judgments; empty: all."})
    splits: tuple = field(default=SPLITS, metadata={"help": "Corpus splits (post-level) to include."})
    sft_source: str = field(default="real", metadata={
        "help": "SFT: real (the doctors' questions) or synthetic (each original plus its enhanced rewrites)."})
    case_source: str = field(default="askdocs", metadata={"help": "Interactive: askdocs, medqa or all."})
    release: str = field(default="", metadata={
        "help": "Interactive: a benchmark release name (signed-off gold labels with reviewed initial information) "
                "instead of the imported cases."})
    rendering: str = field(default=DEFAULT_RENDERING, metadata={"help": "Prompt rendering (corpus.rendering)."})
    seed: int = field(default=0, metadata={"help": "Seeds the row order within each split."})
    limit: int = field(default=0, metadata={"help": "At most this many rows (0: no limit), taken after ordering."})

    CHOICES = {
        "granularity": ("fine", "coarse"), "verdict": ("filtered", "unfiltered"),
        "agreement": ("any", "agrees", "judged"), "sft_source": ("real", "synthetic"),
        "case_source": ("askdocs", "medqa", "all"),
    }

    @classmethod
    def from_dict(cls, data: dict, known_attributes: set[str]) -> "Selection":
        """Return a checked selection; raise SelectionError naming the first bad option."""
        names = {f.name for f in fields(cls)}
        if unknown := sorted(set(data) - names):
            raise SelectionError(f"Unknown option(s): {', '.join(unknown)}.")
        values = {key: tuple(value) if isinstance(value, list) else value for key, value in data.items()
                  if value is not None}
        selection = cls(**values)
        selection.check(known_attributes)
        return selection

    def check(self, known_attributes: set[str]) -> None:
        if self.kind not in DatasetKind.values:
            raise SelectionError(f"Unknown kind {self.kind!r}; known: {', '.join(DatasetKind.values)}.")
        for name, allowed in self.CHOICES.items():
            if getattr(self, name) not in allowed:
                raise SelectionError(f"{name} must be one of {', '.join(allowed)}, not {getattr(self, name)!r}.")
        if unknown := [a for a in self.attributes if a not in known_attributes]:
            raise SelectionError(f"Unknown attribute(s): {', '.join(unknown)}; known: "
                                 f"{', '.join(sorted(known_attributes))}.")
        if unknown := [p for p in self.pair_types if p not in PAIR_TYPES]:
            raise SelectionError(f"Unknown pair type(s): {', '.join(unknown)}; known: {', '.join(PAIR_TYPES)}.")
        if unknown := [s for s in self.splits if s not in SPLITS]:
            raise SelectionError(f"Unknown split(s): {', '.join(unknown)}; known: {', '.join(SPLITS)}.")
        if not self.splits:
            raise SelectionError("Select at least one split.")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or not 0 <= self.seed < 2**63:
            raise SelectionError("seed must be a whole number from 0 to 2^63-1.")
        if not isinstance(self.limit, int) or isinstance(self.limit, bool) or self.limit < 0:
            raise SelectionError("limit must be a whole number, 0 or more.")
        if not all(isinstance(c, int) and not isinstance(c, bool) for c in self.campaigns):
            raise SelectionError("campaigns must be campaign ids (whole numbers).")
        if self.release and not isinstance(self.release, str):
            raise SelectionError("release must be a benchmark release name.")
        try:
            get_rendering(self.rendering)
        except ValueError as exc:
            raise SelectionError(str(exc)) from exc

    def effective_attributes(self, known_attributes: set[str]) -> list[str]:
        """Return the attributes rows may have: the chosen ones, else every one of the granularity."""
        if self.attributes:
            return list(self.attributes)
        if self.granularity == "coarse":
            return [COARSE_ATTRIBUTE]
        return sorted(a for a in known_attributes if a != COARSE_ATTRIBUTE)

    def as_dict(self) -> dict:
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}
