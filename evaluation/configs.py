"""Evaluation job parameters as dataclasses, the one source the form, the API serializer and `manage.py evaluate`
derive their options from (evaluation/fields.py)."""

from dataclasses import MISSING, asdict, dataclass, field, fields

from corpus.rendering import DEFAULT_RENDERING, RENDERINGS
from synthesis.configs import ConfigError, SamplingConfig

from .prompts import QUESTION_PROMPTS

# MediQ's settings for every role (method.md §5.4): temperature 0.6, top_p 0.9, 256 new tokens.
MEDIQ_SAMPLING = {"temperature": 0.6, "top_p": 0.9, "max_tokens": 256}
# The authors' batch generation for the win-rate (method.md §5.1): temperature 1.0, top_p 1.0. They allowed 1,024
# new tokens; a follow-up question needs far fewer, so 256 here.
GENERATION_SAMPLING = {"temperature": 1.0, "top_p": 1.0, "max_tokens": 256}
# The authors' judges (method.md §5.2): temperature 1.0, 500 new tokens.
JUDGE_SAMPLING = {"temperature": 1.0, "top_p": 1.0, "max_tokens": 500}
PATIENTS = ("llm", "embedding")
# "external" means a prompt an imported dataset supplied; a corpus question is always rendered here. The labels are
# dataversions' own, so the API schema has one rendering enum.
RENDERING_CHOICES = tuple((key, f"{key}: {r.description}") for key, r in RENDERINGS.items() if key != "external")
RENDERING_KEYS = tuple(key for key, _label in RENDERING_CHOICES)


def check_sampling(name: str, value: dict) -> None:
    if "seed" in value:
        raise ConfigError(f"{name}: seeds come from the run's seed, not from the sampling settings.")
    try:
        SamplingConfig.from_dict(value)
    except (ConfigError, TypeError) as exc:
        raise ConfigError(f"{name}: {exc}") from None


def check_rendering(rendering: str) -> None:
    if rendering not in RENDERING_KEYS:
        raise ConfigError(f"Unknown rendering {rendering!r}; known: {', '.join(RENDERING_KEYS)}.")


class ConfigMixin:
    @classmethod
    def from_dict(cls, data: dict):
        names = {f.name for f in fields(cls)}
        unknown = set(data or {}) - names
        if unknown:
            raise ConfigError(f"Unknown {cls.__name__} option(s): {', '.join(sorted(unknown))}.")
        required = [f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING]
        if missing := [name for name in required if not (data or {}).get(name)]:
            raise ConfigError(f"{cls.__name__} needs: {', '.join(missing)}.")
        try:
            return cls(**(data or {}))
        except TypeError as exc:
            raise ConfigError(str(exc)) from None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class InteractiveConfig(ConfigMixin):
    """An interactive diagnostic QA run: the model under test asks the questions; the expert and the patient are
    fixed models, so that only the question generator changes between compared systems (as in MediQ)."""

    model: str = field(metadata={"help": "Question generator under test: an endpoint name or a local model folder."})
    cases: str = field(default="askdocs", metadata={
        "help": "Case set name (askdocs, askdocs-published, medqa, release:NAME) or a MediQ-format JSONL file."})
    expert: str = field(default="", metadata={"help": "Expert model (confidence and answer); empty: the --model."})
    patient: str = field(default="llm", metadata={"help": "Patient simulator: llm (fact selector) or embedding.",
                                                  "choices": PATIENTS})
    patient_model: str = field(default="", metadata={"help": "LLM patient's model; empty: the expert's."})
    limit: int = field(default=0, metadata={"help": "At most this many cases, in the set's order (0: all)."})
    max_questions: int = field(default=15, metadata={"help": "Questions before a forced answer (MediQ: 15)."})
    threshold: float = field(default=4.0, metadata={
        "help": "The expert asks while its confidence is below this rating (1-5; the authors' 4.0)."})
    repeats: int = field(default=1, metadata={"help": "Independent repeats with seeds seed, seed+1, ..."})
    seed: int = field(default=0, metadata={"help": "Base seed; every call's seed derives from it."})
    baseline: int = field(default=0, metadata={"help": "Run id to compute the diagnostic error reduction against."})
    question_prompt: str = field(default="rendering", metadata={
        "help": "rendering: the corpus rendering models are trained on; mediq-healthq: the authors' eval prompt.",
        "choices": QUESTION_PROMPTS})
    rendering: str = field(default=DEFAULT_RENDERING, metadata={"help": "Corpus rendering for the question prompt.",
                                                                "choices": RENDERING_CHOICES})
    expert_sampling: dict = field(default_factory=lambda: dict(MEDIQ_SAMPLING),
                                  metadata={"help": "Expert temperature, top_p, max_tokens."})
    question_sampling: dict = field(default_factory=lambda: dict(MEDIQ_SAMPLING),
                                    metadata={"help": "Question generator temperature, top_p, max_tokens."})
    patient_sampling: dict = field(default_factory=lambda: dict(MEDIQ_SAMPLING),
                                   metadata={"help": "LLM patient temperature, top_p, max_tokens."})
    max_attempts: int = field(default=2, metadata={"help": "Calls per reply before it is recorded unparseable."})
    embedding_top_k: int = field(default=3, metadata={"help": "Embedding patient: at most this many facts."})
    embedding_threshold: float = field(default=0.5, metadata={"help": "Embedding patient: least cosine similarity."})

    def __post_init__(self):
        if not self.model:
            raise ConfigError("Say which model asks the questions (model).")
        if self.patient not in PATIENTS:
            raise ConfigError(f"patient must be one of {', '.join(PATIENTS)}.")
        if self.question_prompt not in QUESTION_PROMPTS:
            raise ConfigError(f"question_prompt must be one of {', '.join(QUESTION_PROMPTS)}.")
        check_rendering(self.rendering)
        if not 0 <= self.max_questions <= 100:
            raise ConfigError("max_questions must lie in [0, 100].")
        if not 1 <= self.repeats <= 50:
            raise ConfigError("repeats must lie in [1, 50].")
        if not 1 <= self.threshold <= 5:
            raise ConfigError("threshold must lie in [1, 5].")
        if self.max_attempts < 1 or self.limit < 0 or self.embedding_top_k < 1:
            raise ConfigError("max_attempts and embedding_top_k must be at least 1, limit at least 0.")
        for name in ("expert_sampling", "question_sampling", "patient_sampling"):
            check_sampling(name, getattr(self, name))

    @property
    def expert_model(self) -> str:
        return self.expert or self.model

    @property
    def patient_llm(self) -> str:
        return self.patient_model or self.expert_model


@dataclass
class GenerationConfig(ConfigMixin):
    """Generate the next follow-up question for every selected test question, with the one corpus rendering."""

    model: str = field(metadata={"help": "Generator: an endpoint name or a local model folder."})
    split: str = field(default="test", metadata={"help": "Questions of this split (the 620 test questions)."})
    qids: list[str] = field(default_factory=list, metadata={"help": "Explicit question ids (override the split)."})
    limit: int = field(default=0, metadata={"help": "At most this many questions, in qid order (0: all)."})
    rendering: str = field(default=DEFAULT_RENDERING, metadata={"help": "Corpus rendering of the prompt.",
                                                                "choices": RENDERING_CHOICES})
    sampling: dict = field(default_factory=lambda: dict(GENERATION_SAMPLING),
                           metadata={"help": "temperature, top_p, max_tokens."})
    seed: int = field(default=0, metadata={"help": "Base seed of the generation calls."})
    max_attempts: int = field(default=2, metadata={"help": "Calls per question while the reply asks nothing."})

    def __post_init__(self):
        if not self.model:
            raise ConfigError("Say which model generates (model).")
        check_rendering(self.rendering)
        check_sampling("sampling", self.sampling)
        if self.max_attempts < 1 or self.limit < 0:
            raise ConfigError("max_attempts must be at least 1, limit at least 0.")


@dataclass
class WinrateConfig(ConfigMixin):
    """A pairwise LLM-judge comparison of a candidate's questions with a reference's, for the same contexts."""

    model: str = field(metadata={"help": "Candidate: an endpoint, a local model folder, or run:ID (a generation)."})
    reference: str = field(default="human", metadata={
        "help": "human (the real doctor's question), an endpoint or folder, or run:ID (a generation run)."})
    judge: str = field(default="", metadata={"help": "Judge endpoint; empty: the default judge."})
    split: str = field(default="test", metadata={"help": "Questions of this split."})
    qids: list[str] = field(default_factory=list, metadata={"help": "Explicit question ids (override the split)."})
    limit: int = field(default=0, metadata={"help": "At most this many questions, in qid order (0: all)."})
    samples: int = field(default=3, metadata={"help": "Judge samples per order (the authors' self-consistency 3)."})
    attribute: str = field(default="", metadata={"help": "Judge one attribute (its key); empty: overall."})
    rendering: str = field(default=DEFAULT_RENDERING, metadata={"help": "Rendering for generated questions.",
                                                                "choices": RENDERING_CHOICES})
    generation_sampling: dict = field(default_factory=lambda: dict(GENERATION_SAMPLING),
                                      metadata={"help": "Generation temperature, top_p, max_tokens."})
    judge_sampling: dict = field(default_factory=lambda: dict(JUDGE_SAMPLING),
                                 metadata={"help": "Judge temperature, top_p, max_tokens."})
    seed: int = field(default=0, metadata={"help": "Base seed of generation and judge calls."})
    max_attempts: int = field(default=3, metadata={"help": "Judge calls per verdict before it is unparseable."})

    def __post_init__(self):
        if not self.model:
            raise ConfigError("Say which model is the candidate (model).")
        if not 1 <= self.samples <= 20:
            raise ConfigError("samples must lie in [1, 20].")
        check_rendering(self.rendering)
        check_sampling("generation_sampling", self.generation_sampling)
        check_sampling("judge_sampling", self.judge_sampling)
        if self.max_attempts < 1 or self.limit < 0:
            raise ConfigError("max_attempts must be at least 1, limit at least 0.")

    def generation(self, model: str) -> GenerationConfig:
        return GenerationConfig(model=model, split=self.split, qids=self.qids, limit=self.limit,
                                rendering=self.rendering, sampling=self.generation_sampling, seed=self.seed)


@dataclass
class ExpertCheckConfig(ConfigMixin):
    """A blinded physicians' comparison of two generation runs on a stratified sample (method.md §5.3)."""

    candidate: int = field(metadata={"help": "Generation run whose questions are judged (its id)."})
    reference_run: int = field(default=0, metadata={
        "help": "Reference generation run id; 0: the real doctor's question."})
    judge_run: int = field(default=0, metadata={"help": "Win-rate run of the same two generations, for agreement."})
    size: int = field(default=100, metadata={"help": "Questions sampled, stratified by question type (paper: 100)."})
    seed: int = field(default=42, metadata={"help": "Sampling seed (the authors' 42)."})
    overlap: int = field(default=2, metadata={"help": "Physicians per item (2 or more gives their agreement)."})
    annotators: list[str] = field(default_factory=list, metadata={"help": "Usernames to invite."})
    name: str = field(default="", metadata={"help": "Campaign name; empty: one is made from the runs."})

    def __post_init__(self):
        if self.candidate < 1:
            raise ConfigError("Say which generation run is the candidate (candidate).")
        if not 1 <= self.size <= 5000:
            raise ConfigError("size must lie in [1, 5000].")
        if not 1 <= self.overlap <= 50:
            raise ConfigError("overlap must lie in [1, 50].")


CONFIGS = {"interactive": InteractiveConfig, "winrate": WinrateConfig, "generation": GenerationConfig,
           "expert_check": ExpertCheckConfig}
