"""Job parameters as dataclasses: sampling, synthesis, verification and pair building (forms, API, CLI derive)."""

import warnings
from dataclasses import dataclass, field
from typing import Any

from jobs.configs import ConfigError, JobConfig, register_config

__all__ = ["ConfigError", "PairConfig", "SamplingConfig", "SynthesisConfig", "VerificationConfig"]

# The bound every stored job and endpoint default was checked against, and what serve_model and vLLM accept; the
# old synthesis form alone capped it at 4096, so a job the API queued could not be sent again from the form.
MAX_NEW_TOKENS = 32768

DIRECTIONS = [("enhance_hindsight", "Enhance with hindsight (the paper's enhanced side)"),
              ("enhance", "Enhance without hindsight"), ("corrupt", "Corrupt")]
ENHANCED_DIRECTIONS = DIRECTIONS[:2]
NORMALIZE_SAMPLING = {"temperature": 0.6}  # the authors' setting for the normalization step
SAMPLING_OVERRIDES = ("temperature", "top_p", "max_tokens", "seed")  # min_tokens is for benchmarks only


def split_choices() -> list[tuple[str, str]]:
    """Return the corpus splits, at call time: this module is imported where Django is not (GPU benchmarks)."""
    from corpus.models import Split

    return [("", "Any split"), *Split.choices]


def question_type_choices() -> list[tuple[str, str]]:
    from corpus.models import QuestionType

    return QuestionType.choices


@dataclass(frozen=True)
class SamplingConfig(JobConfig):
    """How a backend samples one reply."""

    temperature: float = field(default=1.0, metadata={
        "help": "The authors used 1.0 for rewrites, 0.6 to normalize; 0 is greedy.", "min": 0, "max": 5})
    top_p: float = field(default=1.0, metadata={"help": "Nucleus sampling mass.", "min": 0, "min_exclusive": True,
                                                "max": 1})
    max_tokens: int = field(default=256, metadata={"help": "New tokens per reply.", "min": 1, "max": MAX_NEW_TOKENS})
    seed: int | None = field(default=0, metadata={"help": "Base seed; each call derives its own from it."})
    min_tokens: int = field(default=0, metadata={"help": "Benchmarks only: generate at least this many tokens.",
                                                 "min": 0})

    def check(self) -> None:
        if self.min_tokens > self.max_tokens:
            raise ConfigError("min_tokens cannot exceed max_tokens.", field="min_tokens")

    @property
    def is_greedy(self) -> bool:
        return self.temperature == 0


def sampling_overrides(help_text: str, fallback: str, prefix: str = "") -> dict[str, Any]:
    """Return the metadata of a field of SamplingConfig overrides; the worker lays them over the endpoint's."""
    return {"help": help_text, "overrides": SamplingConfig, "options": SAMPLING_OVERRIDES, "prefix": prefix,
            "fallback": fallback}


@register_config("synthesize", form="synthesis.forms.SynthesisForm",
                 serializer="synthesis.serializers.SynthesisRequestSerializer", command="synthesize")
@dataclass
class SynthesisConfig(JobConfig):
    """What a synthesis job does: which questions, attributes, directions, generator and sampling."""

    endpoint: str = field(metadata={
        "help": "ModelEndpoint name of the generator (no default: say which model; the form and the command "
                "start from the default generator)."})
    attributes: list[str] = field(
        default_factory=lambda: ["clarity", "focus", "answerability", "accuracy", "relevance", "avoidbias"],
        metadata={"help": "Attribute keys; the six fine-grained ones by default, as in the paper."},
    )
    directions: list[str] = field(
        default_factory=lambda: ["enhance_hindsight", "corrupt"],
        metadata={"help": "Only what the pairs use: the paper's enhanced side sees the outcome (hindsight).",
                  "choices": DIRECTIONS},
    )
    split: str = field(default="", metadata={"help": "Restrict to posts of this split.", "choices": split_choices})
    qids: list[str] = field(default_factory=list, metadata={"help": "Explicit question ids (they override split)."})
    question_types: list[str] = field(default_factory=list, metadata={
        "help": "Only questions of these types (empty: every type).", "choices": question_type_choices})
    limit: int = field(default=0, metadata={"help": "At most this many questions (0: all), in qid order.", "min": 0})
    sampling: dict = field(default_factory=dict, metadata=sampling_overrides(
        "Sampling of every call, over the endpoint's default_sampling.", "the endpoint's default_sampling"))
    normalize_sampling: dict = field(default_factory=lambda: dict(NORMALIZE_SAMPLING), metadata=sampling_overrides(
        "Sampling of the normalization step, over the sampling above.", "the sampling above", prefix="normalize_"))
    batch_size: int = field(default=0, metadata={"help": "Prompts per backend call (0: the endpoint's setting).",
                                                 "min": 0})
    max_attempts: int = field(default=2, metadata={"help": "Calls per item before it is recorded as failed.",
                                                   "min": 1, "max": 10})
    build_pairs: bool = field(default=True, metadata={"help": "Build (unverified) pairs when the rewrites are done."})

    def check(self) -> None:
        if not self.directions:
            raise ConfigError("Choose at least one direction.", field="directions")
        if not self.attributes:
            raise ConfigError("Choose at least one attribute.", field="attributes")
        if "corrupt" not in self.directions:
            warnings.warn("No corrupt direction: only enhanced>original pairs can be built.", stacklevel=2)


@register_config("verify", form="synthesis.forms.VerificationForm",
                 serializer="synthesis.serializers.VerificationRequestSerializer", command="verify")
@dataclass
class VerificationConfig(JobConfig):
    """What a verification job judges: triples of existing rewrites, with a judge endpoint."""

    endpoint: str = field(metadata={
        "help": "ModelEndpoint name of the judge (the form and the command start from the default judge)."})
    attributes: list[str] = field(default_factory=list, metadata={"help": "Attribute keys (empty: all)."})
    qids: list[str] = field(default_factory=list, metadata={"help": "Only these questions (empty: all)."})
    split: str = field(default="", metadata={"help": "Only rewrites of posts in this split.",
                                             "choices": split_choices})
    generator_model: str = field(default="", metadata={"help": "Only rewrites from this model (empty: any)."})
    enhanced_direction: str = field(default="enhance_hindsight", metadata={
        "help": "Which enhanced side to judge.", "choices": ENHANCED_DIRECTIONS})
    sampling: dict = field(default_factory=lambda: {"temperature": 0.0, "max_tokens": 64}, metadata=sampling_overrides(
        "The judge's sampling, over the endpoint's default_sampling (greedy by default).",
        "the endpoint's default_sampling", prefix="judge_"))
    max_attempts: int = field(default=3, metadata={"help": "Calls before a reply is recorded as unparseable.",
                                                   "min": 1, "max": 10})
    batch_size: int = field(default=0, metadata={"help": "Prompts per backend call (0: the endpoint's setting).",
                                                 "min": 0})
    limit: int = field(default=0, metadata={"help": "At most this many triples (0: all).", "min": 0})
    seed: int = field(default=0, metadata={"help": "Seeds the candidate order shown to the judge."})


@register_config("build_pairs", form="synthesis.forms.PairForm",
                 serializer="synthesis.serializers.PairBuildRequestSerializer", command="build_pairs")
@dataclass
class PairConfig(JobConfig):
    """Which rewrites become pairs."""

    attributes: list[str] = field(default_factory=list, metadata={"help": "Attribute keys (empty: all)."})
    qids: list[str] = field(default_factory=list, metadata={"help": "Only these questions (empty: all)."})
    enhanced_direction: str = field(default="enhance_hindsight", metadata={
        "help": "Which enhanced side the pairs take.", "choices": ENHANCED_DIRECTIONS})
    generator_model: str = field(default="", metadata={"help": "Only rewrites from this model (empty: any)."})
