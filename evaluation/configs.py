"""Evaluation job options, declared once as JobConfig dataclasses (jobs.configs): the launch forms, the API
serializers and `manage.py evaluate --task ...` derive from them, and `manage.py config_table` lists them."""

from dataclasses import dataclass, field

from corpus.rendering import DEFAULT_RENDERING, RENDERINGS
from jobs.configs import ConfigError, JobConfig, register_config
from synthesis.configs import SamplingConfig

from .prompts import QUESTION_PROMPTS

__all__ = ["CONFIGS", "ConfigError", "ExpertCheckConfig", "GenerationConfig", "InteractiveConfig", "WinrateConfig"]

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
# No seed among a role's sampling options: every call's seed derives from the run's seed.
ROLE_SAMPLING = ("temperature", "top_p", "max_tokens")
NOT_NEGATIVE = {"min": 0}
AT_LEAST_ONE = {"min": 1}


def sampling_overrides(help_text: str, prefix: str) -> dict:
    """Return the metadata of a role's sampling: SamplingConfig keys over the endpoint's default_sampling."""
    return {"help": help_text, "overrides": SamplingConfig, "options": ROLE_SAMPLING, "prefix": prefix,
            "fallback": "the endpoint's default_sampling"}


def split_choices() -> list[tuple[str, str]]:
    """Return the corpus splits, at call time (the models load after this module)."""
    from corpus.models import Split

    return Split.choices


@register_config("evaluate_interactive", form="evaluation.views.InteractiveForm",
                 serializer="evaluation.serializers.InteractiveRequestSerializer",
                 command="evaluate --task interactive")
@dataclass
class InteractiveConfig(JobConfig):
    """An interactive diagnostic QA run (MediQ-style) in which the model under test asks the questions.

    The expert and the patient are fixed models, so that only the question generator changes between compared
    systems (as in MediQ)."""

    model: str = field(metadata={"help": "Question generator under test: an endpoint name or a local model folder."})
    cases: str = field(default="askdocs", metadata={
        "help": "Case set name (askdocs, askdocs-published, medqa, release:NAME) or a MediQ-format JSONL file."})
    expert: str = field(default="", metadata={"help": "Expert model (confidence and answer); empty: the model."})
    patient: str = field(default="llm", metadata={"help": "Patient simulator: llm (fact selector) or embedding.",
                                                  "choices": PATIENTS})
    patient_model: str = field(default="", metadata={"help": "LLM patient's model; empty: the expert's."})
    limit: int = field(default=0, metadata={"help": "At most this many cases, in the set's order (0: all).",
                                            **NOT_NEGATIVE})
    max_questions: int = field(default=15, metadata={"help": "Questions before a forced answer (MediQ: 15).",
                                                     "min": 0, "max": 100})
    threshold: float = field(default=4.0, metadata={
        "help": "The expert asks while its confidence is below this rating (1-5; the authors' 4.0).", "min": 1,
        "max": 5})
    repeats: int = field(default=1, metadata={"help": "Independent repeats with seeds seed, seed+1, ...",
                                              "min": 1, "max": 50})
    seed: int = field(default=0, metadata={"help": "Base seed; every call's seed derives from it."})
    baseline: int = field(default=0, metadata={
        "help": "Run id to compute the diagnostic error reduction against (0: none).", **NOT_NEGATIVE})
    question_prompt: str = field(default="rendering", metadata={
        "help": "rendering: the corpus rendering models are trained on; mediq-healthq: the authors' eval prompt.",
        "choices": QUESTION_PROMPTS})
    rendering: str = field(default=DEFAULT_RENDERING, metadata={"help": "Corpus rendering for the question prompt.",
                                                                "choices": RENDERING_CHOICES})
    expert_sampling: dict = field(default_factory=lambda: dict(MEDIQ_SAMPLING), metadata=sampling_overrides(
        "The expert's sampling (MediQ's by default).", "expert_"))
    question_sampling: dict = field(default_factory=lambda: dict(MEDIQ_SAMPLING), metadata=sampling_overrides(
        "The question generator's sampling (MediQ's by default).", "question_"))
    patient_sampling: dict = field(default_factory=lambda: dict(MEDIQ_SAMPLING), metadata=sampling_overrides(
        "The LLM patient's sampling (MediQ's by default).", "patient_"))
    max_attempts: int = field(default=2, metadata={"help": "Calls per reply before it is recorded unparseable.",
                                                   **AT_LEAST_ONE})
    embedding_top_k: int = field(default=3, metadata={"help": "Embedding patient: at most this many facts.",
                                                      **AT_LEAST_ONE})
    embedding_threshold: float = field(default=0.5, metadata={"help": "Embedding patient: least cosine similarity.",
                                                              "min": -1, "max": 1})

    @property
    def expert_model(self) -> str:
        return self.expert or self.model

    @property
    def patient_llm(self) -> str:
        return self.patient_model or self.expert_model


@register_config("generate_questions", form="evaluation.views.GenerationForm",
                 serializer="evaluation.serializers.GenerationRequestSerializer", command="evaluate --task generation")
@dataclass
class GenerationConfig(JobConfig):
    """Generate the next follow-up question for every selected test question, with the one corpus rendering."""

    model: str = field(metadata={"help": "Generator: an endpoint name or a local model folder."})
    split: str = field(default="test", metadata={"help": "Questions of this split (the 620 test questions).",
                                                 "choices": split_choices})
    qids: list[str] = field(default_factory=list, metadata={"help": "Explicit question ids (override the split)."})
    limit: int = field(default=0, metadata={"help": "At most this many questions, in qid order (0: all).",
                                            **NOT_NEGATIVE})
    rendering: str = field(default=DEFAULT_RENDERING, metadata={"help": "Corpus rendering of the prompt.",
                                                                "choices": RENDERING_CHOICES})
    sampling: dict = field(default_factory=lambda: dict(GENERATION_SAMPLING), metadata=sampling_overrides(
        "The generator's sampling (the authors' batch generation by default).", ""))
    seed: int = field(default=0, metadata={"help": "Base seed of the generation calls."})
    max_attempts: int = field(default=2, metadata={"help": "Calls per question while the reply asks nothing.",
                                                   **AT_LEAST_ONE})


@register_config("evaluate_winrate", form="evaluation.views.WinrateForm",
                 serializer="evaluation.serializers.WinrateRequestSerializer", command="evaluate --task winrate")
@dataclass
class WinrateConfig(JobConfig):
    """A pairwise LLM-judge comparison of a candidate's questions with a reference's, for the same contexts."""

    model: str = field(metadata={"help": "Candidate: an endpoint, a local model folder, or run:ID (a generation)."})
    reference: str = field(default="human", metadata={
        "help": "human (the real doctor's question), an endpoint or folder, or run:ID (a generation run)."})
    judge: str = field(default="", metadata={"help": "Judge endpoint; empty: the default judge."})
    split: str = field(default="test", metadata={"help": "Questions of this split.", "choices": split_choices})
    qids: list[str] = field(default_factory=list, metadata={"help": "Explicit question ids (override the split)."})
    limit: int = field(default=0, metadata={"help": "At most this many questions, in qid order (0: all).",
                                            **NOT_NEGATIVE})
    samples: int = field(default=3, metadata={"help": "Judge samples per order (the authors' self-consistency 3).",
                                              "min": 1, "max": 20})
    attribute: str = field(default="", metadata={"help": "Judge one attribute (its key); empty: overall."})
    rendering: str = field(default=DEFAULT_RENDERING, metadata={"help": "Rendering for generated questions.",
                                                                "choices": RENDERING_CHOICES})
    generation_sampling: dict = field(default_factory=lambda: dict(GENERATION_SAMPLING), metadata=sampling_overrides(
        "Sampling of the questions it generates (the authors' batch generation by default).", "generation_"))
    judge_sampling: dict = field(default_factory=lambda: dict(JUDGE_SAMPLING), metadata=sampling_overrides(
        "The judge's sampling (the authors' by default).", "judge_"))
    seed: int = field(default=0, metadata={"help": "Base seed of generation and judge calls."})
    max_attempts: int = field(default=3, metadata={"help": "Judge calls per verdict before it is unparseable.",
                                                   **AT_LEAST_ONE})

    def generation(self, model: str) -> GenerationConfig:
        return GenerationConfig(model=model, split=self.split, qids=self.qids, limit=self.limit,
                                rendering=self.rendering, sampling=self.generation_sampling, seed=self.seed)


# Not registered: an expert check queues no job (physicians do the work in its campaign) and the registry is of job
# kinds. Its form, serializer and command-line options still derive from it through jobs.configs.
@dataclass
class ExpertCheckConfig(JobConfig):
    """A blinded physicians' comparison of two generation runs on a stratified sample (method.md §5.3)."""

    candidate: int = field(metadata={"help": "Generation run whose questions are judged (its id).", **AT_LEAST_ONE})
    reference_run: int = field(default=0, metadata={
        "help": "Reference generation run id; 0: the real doctor's question.", **NOT_NEGATIVE})
    judge_run: int = field(default=0, metadata={"help": "Win-rate run of the same two generations, for agreement.",
                                                **NOT_NEGATIVE})
    size: int = field(default=100, metadata={"help": "Questions sampled, stratified by question type (paper: 100).",
                                             "min": 1, "max": 5000})
    seed: int = field(default=42, metadata={"help": "Sampling seed (the authors' 42)."})
    overlap: int = field(default=2, metadata={"help": "Physicians per item (2 or more gives their agreement).",
                                              "min": 1, "max": 50})
    annotators: list[str] = field(default_factory=list, metadata={"help": "Usernames to invite."})
    name: str = field(default="", metadata={"help": "Campaign name; empty: one is made from the runs."})


CONFIGS = {"interactive": InteractiveConfig, "winrate": WinrateConfig, "generation": GenerationConfig,
           "expert_check": ExpertCheckConfig}
