"""Job parameters as dataclasses: sampling, synthesis, verification and pair building."""

import warnings
from dataclasses import asdict, dataclass, field, fields


class ConfigError(ValueError):
    """Parameters a job cannot run with."""


def _known(cls, data):
    names = {f.name for f in fields(cls)}
    unknown = set(data or {}) - names
    if unknown:
        raise ConfigError(f"Unknown {cls.__name__} option(s): {', '.join(sorted(unknown))}.")
    return dict(data or {})


@dataclass(frozen=True)
class SamplingConfig:
    temperature: float = field(default=1.0, metadata={"help": "The authors used 1.0 for rewrites, 0.6 to normalize."})
    top_p: float = field(default=1.0, metadata={"help": "Nucleus sampling mass."})
    max_tokens: int = field(default=256, metadata={"help": "New tokens per reply."})
    seed: int | None = field(default=0, metadata={"help": "Base seed; each call derives its own from it."})
    min_tokens: int = field(default=0, metadata={"help": "Benchmarks only: generate at least this many tokens."})

    def __post_init__(self):
        if not 0 <= self.temperature <= 5:
            raise ConfigError("temperature must lie in [0, 5].")
        if not 0 < self.top_p <= 1:
            raise ConfigError("top_p must lie in (0, 1].")
        if not 1 <= self.max_tokens <= 32768:
            raise ConfigError("max_tokens must lie in [1, 32768].")
        if self.min_tokens > self.max_tokens:
            raise ConfigError("min_tokens cannot exceed max_tokens.")

    @classmethod
    def from_dict(cls, data, **overrides):
        merged = {**_known(cls, data), **{k: v for k, v in overrides.items() if v is not None}}
        return cls(**merged)

    def to_dict(self):
        return asdict(self)

    @property
    def is_greedy(self):
        return self.temperature == 0


NORMALIZE_SAMPLING = {"temperature": 0.6}  # the authors' setting for the normalization step


@dataclass
class SynthesisConfig:
    """What a synthesis job does: which questions, attributes, directions, generator and sampling."""

    endpoint: str = field(metadata={"help": "ModelEndpoint name of the generator (no default: say which model)."})
    attributes: list[str] = field(
        default_factory=lambda: ["clarity", "focus", "answerability", "accuracy", "relevance", "avoidbias"],
        metadata={"help": "Attribute keys; the six fine-grained ones by default, as in the paper."},
    )
    directions: list[str] = field(
        default_factory=lambda: ["enhance_hindsight", "corrupt"],
        metadata={"help": "Only what the pairs use: the paper's enhanced side sees the outcome (hindsight)."},
    )
    split: str = field(default="", metadata={"help": "Restrict to posts of this split (train/validation/test)."})
    qids: list[str] = field(default_factory=list, metadata={"help": "Explicit question ids (overrides split)."})
    question_types: list[str] = field(default_factory=list, metadata={"help": "Filter by question type."})
    limit: int = field(default=0, metadata={"help": "At most this many questions (0: all), in qid order."})
    sampling: dict = field(default_factory=dict, metadata={"help": "temperature, top_p, max_tokens, seed overrides."})
    normalize_sampling: dict = field(
        default_factory=lambda: dict(NORMALIZE_SAMPLING),
        metadata={"help": "Overrides for the normalization step, on top of `sampling`."},
    )
    batch_size: int = field(default=0, metadata={"help": "Prompts per backend call (0: the endpoint's setting)."})
    max_attempts: int = field(default=2, metadata={"help": "Calls per item before it is recorded as failed."})
    build_pairs: bool = field(default=True, metadata={"help": "Build (unverified) pairs when the rewrites are done."})

    def __post_init__(self):
        unknown = set(self.directions) - {"enhance", "enhance_hindsight", "corrupt"}
        if unknown:
            raise ConfigError(f"Unknown direction(s): {', '.join(sorted(unknown))}.")
        if not self.directions:
            raise ConfigError("Choose at least one direction.")
        if not self.attributes:
            raise ConfigError("Choose at least one attribute.")
        if self.max_attempts < 1:
            raise ConfigError("max_attempts must be at least 1.")
        if "corrupt" not in self.directions:
            warnings.warn("No corrupt direction: only enhanced>original pairs can be built.", stacklevel=2)
        SamplingConfig.from_dict(self.sampling)  # fail at enqueue time, not in the worker

    @classmethod
    def from_dict(cls, data):
        return cls(**_known(cls, data))

    def to_dict(self):
        return asdict(self)


@dataclass
class VerificationConfig:
    """What a verification job judges: triples of existing rewrites, with a judge endpoint."""

    endpoint: str = field(metadata={"help": "ModelEndpoint name of the judge."})
    attributes: list[str] = field(default_factory=list, metadata={"help": "Attribute keys (empty: all)."})
    qids: list[str] = field(default_factory=list, metadata={"help": "Only these questions (empty: all)."})
    split: str = field(default="")
    generator_model: str = field(default="", metadata={"help": "Only rewrites from this model (empty: any)."})
    enhanced_direction: str = field(default="enhance_hindsight", metadata={"help": "Which enhanced side to judge."})
    sampling: dict = field(default_factory=lambda: {"temperature": 0.0, "max_tokens": 64})
    max_attempts: int = field(default=3, metadata={"help": "Calls before a reply is recorded as unparseable."})
    batch_size: int = field(default=0)
    limit: int = field(default=0, metadata={"help": "At most this many triples (0: all)."})
    seed: int = field(default=0, metadata={"help": "Seeds the candidate order shown to the judge."})

    def __post_init__(self):
        if self.enhanced_direction not in {"enhance", "enhance_hindsight"}:
            raise ConfigError("enhanced_direction must be enhance or enhance_hindsight.")
        if self.max_attempts < 1:
            raise ConfigError("max_attempts must be at least 1.")
        SamplingConfig.from_dict(self.sampling)

    @classmethod
    def from_dict(cls, data):
        return cls(**_known(cls, data))

    def to_dict(self):
        return asdict(self)


@dataclass
class PairConfig:
    """Which rewrites become pairs."""

    attributes: list[str] = field(default_factory=list, metadata={"help": "Attribute keys (empty: all)."})
    qids: list[str] = field(default_factory=list)
    enhanced_direction: str = field(default="enhance_hindsight")
    generator_model: str = field(default="")

    def __post_init__(self):
        if self.enhanced_direction not in {"enhance", "enhance_hindsight"}:
            raise ConfigError("enhanced_direction must be enhance or enhance_hindsight.")

    @classmethod
    def from_dict(cls, data):
        return cls(**_known(cls, data))

    def to_dict(self):
        return asdict(self)
